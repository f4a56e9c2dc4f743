#pragma once
// The CIRKD toolbox's SegFormer decoder (all-MLP): each MiT level projected by a linear
// layer to `channels`, resized to layer1's size (bilinear, half-pixel), concatenated as
// [c4, c3, c2, c1], fused by a 1x1 convolution + BN + ReLU (the distilled feature, 1/4),
// a 1x1 classifier. State dict: linear_c1..4.proj, linear_fuse.{0,1}, linear_pred, at the
// top level as the toolbox has them.
#include <array>

#include "segdistill/config/schema.hpp"
#include "segdistill/modeling/batch_norm.hpp"
#include "segdistill/modeling/head.hpp"

namespace segdistill::heads_plugin {

struct ToolboxSegFormerOptions {
  std::int64_t channels;
  static void declare(Schema<ToolboxSegFormerOptions>& s) {
    s.field("channels", &ToolboxSegFormerOptions::channels, "decoder width (256: MiT-B0/B1; 768: MiT-B2..B5)")
        .default_value(256)
        .at_least(1);
  }
};

class ToolboxSegFormerHead : public Head {
 public:
  ToolboxSegFormerHead(const ToolboxSegFormerOptions& options, const HeadContext& context);
  // Exposes "feature" (linear_fuse's output) and "logits" (at 1/4).
  at::Tensor forward(const FeatureMap& backbone_features, FeatureMap& exposed) override;
  std::vector<FeatureSpec> exposed_specs() const override { return exposed_; }

 private:
  std::vector<FeatureSpec> exposed_;
  std::array<torch::nn::Linear, 4> projections_{nullptr, nullptr, nullptr, nullptr};
  torch::nn::Conv2d fuse_{nullptr}, classifier_{nullptr};
  segdistill::BatchNorm2d fuse_bn_{nullptr};
};

}  // namespace segdistill::heads_plugin
