#pragma once
// The CIRKD toolbox's DeepLabV3 head (not DeepLabV3+), models deeplabv3 (ResNet, width 512),
// deeplabv3_mobilenet_ssseg and deeplab_mobile (width 128): ASPP on the backbone output,
// a 3x3 conv + BN + ReLU + Dropout(0.1) giving the distilled feature, a 1x1 classifier;
// optionally the auxiliary FCN head on layer3. State dict: head.aspp.*, head.block.*,
// auxlayer.*.
#include <vector>

#include "segdistill/config/schema.hpp"
#include "toolbox_blocks.hpp"

namespace segdistill::heads_plugin {

struct ToolboxDeepLabV3Options {
  std::int64_t channels;
  std::vector<std::int64_t> rates;
  bool aux;
  std::string aux_from;
  static void declare(Schema<ToolboxDeepLabV3Options>& s) {
    s.field("channels", &ToolboxDeepLabV3Options::channels,
            "width of the ASPP branches, the projection and the head block (512: the toolbox's ResNet models; 128: its "
            "mobile ones)")
        .default_value(512)
        .at_least(1);
    s.field("rates", &ToolboxDeepLabV3Options::rates, "dilations of the three 3x3 ASPP branches")
        .default_value(std::vector<std::int64_t>{12, 24, 36})
        .at_least(1);
    s.field("aux", &ToolboxDeepLabV3Options::aux,
            "build the auxiliary FCN head (auxlayer.*, exposed as head.aux_logits; the toolbox's ResNet models have it)")
        .default_value(false);
    s.field("aux_from", &ToolboxDeepLabV3Options::aux_from, "backbone feature the auxiliary head reads (c3)")
        .default_value(std::string("layer3"));
  }
};

class ToolboxDeepLabV3Head : public Head {
 public:
  ToolboxDeepLabV3Head(const ToolboxDeepLabV3Options& options, const HeadContext& context);
  // Exposes "feature" (after the block's dropout: the toolbox's feature), "logits" (at the
  // head's resolution, before the resize to the input: what the toolbox's losses see) and
  // "aux_logits".
  at::Tensor forward(const FeatureMap& backbone_features, FeatureMap& exposed) override;
  std::vector<FeatureSpec> exposed_specs() const override { return exposed_; }

 private:
  std::vector<FeatureSpec> exposed_;
  std::vector<ToolboxConvBn> branches_;  // b0 (1x1), b1..b3 (3x3 dilated)
  ToolboxConvBn pool_, project_, block_;
  segdistill::Dropout project_dropout_{nullptr}, block_dropout_{nullptr};
  torch::nn::Conv2d classifier_{nullptr};
  std::shared_ptr<ToolboxAuxHead> aux_;
};

}  // namespace segdistill::heads_plugin
