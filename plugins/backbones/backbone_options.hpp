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
  static void declare(Schema<MobileNetV2Options>& s) {
    s.field("output_stride", &MobileNetV2Options::output_stride, "input size / output feature size")
        .default_value(16)
        .one_of({8, 16, 32});
    s.field("width", &MobileNetV2Options::width, "width multiplier (1.0 = the published network)")
        .default_value(1.0)
        .range(0.0625, 4.0);
    s.field("frozen_bn", &MobileNetV2Options::frozen_bn, "keep BatchNorm statistics and affine parameters fixed")
        .default_value(false);
  }
};

// Channels of a layer at a width multiplier: never below one.
inline std::int64_t scaled_channels(std::int64_t channels, double width) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::lround(static_cast<double>(channels) * width)));
}

}  // namespace segdistill::backbones_plugin
