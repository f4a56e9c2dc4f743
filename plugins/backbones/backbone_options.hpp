#pragma once
// Options every backbone of this plugin reads.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "segdistill/config/schema.hpp"

namespace segdistill::backbones_plugin {

struct ResNetOptions {
  std::int64_t output_stride;
  double width;
  bool frozen_bn;
  static void declare(Schema<ResNetOptions>& s) {
    s.field("output_stride", &ResNetOptions::output_stride, "input size / output feature size").default_value(16).one_of({8, 16});
    s.field("width", &ResNetOptions::width, "channel multiplier (1.0 = the published network)")
        .default_value(1.0)
        .range(0.0625, 4.0);
    s.field("frozen_bn", &ResNetOptions::frozen_bn, "keep BatchNorm statistics and affine parameters fixed").default_value(false);
  }
};

struct MobileNetV2Options {
  std::int64_t output_stride;
  double width;
  bool frozen_bn;
  bool stage_features;
  static void declare(Schema<MobileNetV2Options>& s) {
    s.field("output_stride", &MobileNetV2Options::output_stride, "input size / output feature size")
        .default_value(16)
        .one_of({8, 16, 32});
    s.field("width", &MobileNetV2Options::width, "width multiplier (1.0 = the published network)")
        .default_value(1.0)
        .range(0.0625, 4.0);
    s.field("frozen_bn", &MobileNetV2Options::frozen_bn, "keep BatchNorm statistics and affine parameters fixed")
        .default_value(false);
    s.field("stage_features", &MobileNetV2Options::stage_features,
            "also return backbone.layer1..layer4 as the published extract_feature does (for reviewkd): the "
            "expansion convolution + BatchNorm of features.4, .7 and .14 re-applied to the outputs of features[0:4], "
            "[4:7] and [7:14] (those BatchNorms then run twice per step, as published), and the last output")
        .default_value(false);
  }
};

struct XceptionOptions {
  std::int64_t output_stride;
  double width;
  bool frozen_bn;
  static void declare(Schema<XceptionOptions>& s) {
    s.field("output_stride", &XceptionOptions::output_stride,
            "input size / output feature size (16: entry stride 2, dilations 1 / 1, 2; 8: entry stride 1, 2 / 2, 4)")
        .default_value(16)
        .one_of({8, 16});
    s.field("width", &XceptionOptions::width, "channel multiplier (1.0 = the published network)")
        .default_value(1.0)
        .range(0.0625, 4.0);
    s.field("frozen_bn", &XceptionOptions::frozen_bn, "keep BatchNorm statistics and affine parameters fixed")
        .default_value(false);
  }
};

struct DrnOptions {
  std::int64_t output_stride;
  double width;
  bool frozen_bn;
  static void declare(Schema<DrnOptions>& s) {
    s.field("output_stride", &DrnOptions::output_stride,
            "input size / output feature size: DRN-D keeps stride 8 (the published DeepLab forces 8 for drn)")
        .default_value(8)
        .one_of({8});
    s.field("width", &DrnOptions::width, "channel multiplier (1.0 = the published network)")
        .default_value(1.0)
        .range(0.0625, 4.0);
    s.field("frozen_bn", &DrnOptions::frozen_bn, "keep BatchNorm statistics and affine parameters fixed").default_value(false);
  }
};

// Channels of a layer at a width multiplier: never below one.
inline std::int64_t scaled_channels(std::int64_t channels, double width) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::lround(static_cast<double>(channels) * width)));
}

}  // namespace segdistill::backbones_plugin
