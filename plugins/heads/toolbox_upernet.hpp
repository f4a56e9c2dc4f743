#pragma once
// The CIRKD toolbox's UPerNet head (models upernet_lite, fpn_dim 128, and upernet, 512) on
// its dilated ResNet: a pyramid pooling module on layer4 (each pooled map resized back
// before its 1x1 convolution, as the toolbox does), lateral 1x1 convolutions on layer1..3,
// a top-down pathway with 3x3 output convolutions, the four levels resized to layer1's
// size and fused by a stride-2 3x3 convolution (the distilled feature, 1/8), a 1x1
// classifier; optionally the auxiliary FCN head. Every resize uses align_corners = false.
// State dict: head.ppm_conv, head.ppm_last_conv, head.fpn_in, head.fpn_out,
// head.conv_last, auxlayer.*.
#include <vector>

#include "segdistill/config/schema.hpp"
#include "toolbox_blocks.hpp"

namespace segdistill::heads_plugin {

struct ToolboxUperNetOptions {
  std::int64_t fpn_channels;
  std::int64_t pool_channels;
  bool aux;
  std::string aux_from;
  static void declare(Schema<ToolboxUperNetOptions>& s) {
    s.field("fpn_channels", &ToolboxUperNetOptions::fpn_channels,
            "width of the pyramid levels and of the fused feature (128: upernet_lite; 512: upernet)")
        .default_value(128)
        .at_least(1);
    s.field("pool_channels", &ToolboxUperNetOptions::pool_channels, "width of each pooled branch").default_value(512).at_least(1);
    s.field("aux", &ToolboxUperNetOptions::aux, "build the auxiliary FCN head (auxlayer.*, exposed as head.aux_logits)")
        .default_value(false);
    s.field("aux_from", &ToolboxUperNetOptions::aux_from, "backbone feature the auxiliary head reads (c3)")
        .default_value(std::string("layer3"));
  }
};

class ToolboxUperNetHead : public Head {
 public:
  ToolboxUperNetHead(const ToolboxUperNetOptions& options, const HeadContext& context);
  // Exposes "feature" (the fused feature at 1/8), "logits" (at 1/8) and "aux_logits".
  at::Tensor forward(const FeatureMap& backbone_features, FeatureMap& exposed) override;
  std::vector<FeatureSpec> exposed_specs() const override { return exposed_; }

 private:
  std::vector<FeatureSpec> exposed_;
  std::vector<ToolboxConvBn> pool_convs_, laterals_, outputs_;  // 4 pooled, 3 lateral, 3 output
  ToolboxConvBn pool_fuse_, fuse_;                              // ppm_last_conv; conv_last.0 (stride 2)
  torch::nn::Conv2d classifier_{nullptr};
  std::shared_ptr<ToolboxAuxHead> aux_;
};

}  // namespace segdistill::heads_plugin
