#pragma once
// The CIRKD toolbox's PSPNet head, models psp (ResNet) and psp_mobile: pyramid pooling
// to 1, 2, 3, 6 (each 1x1 conv to C/4 + BN + ReLU, resized back), concatenated with the
// input, a 3x3 conv + BN + ReLU + Dropout(0.1) giving the distilled feature, a 1x1
// classifier; optionally the auxiliary FCN head. State dict: head.psp.conv1..4,
// head.block, head.classifier, auxlayer.*.
#include <vector>

#include "segdistill/config/schema.hpp"
#include "toolbox_blocks.hpp"

namespace segdistill::heads_plugin {

struct ToolboxPspOptions {
  std::int64_t channels;
  bool aux;
  std::string aux_from;
  static void declare(Schema<ToolboxPspOptions>& s) {
    s.field("channels", &ToolboxPspOptions::channels,
            "width of the head block (128: ResNet-18 and every mobile backbone; 256: ResNet-50/101)")
        .default_value(128)
        .at_least(1);
    s.field("aux", &ToolboxPspOptions::aux, "build the auxiliary FCN head (auxlayer.*, exposed as head.aux_logits)")
        .default_value(false);
    s.field("aux_from", &ToolboxPspOptions::aux_from, "backbone feature the auxiliary head reads (c3)")
        .default_value(std::string("layer3"));
  }
};

class ToolboxPspHead : public Head {
 public:
  ToolboxPspHead(const ToolboxPspOptions& options, const HeadContext& context);
  // Exposes "feature" (after the block's dropout: the toolbox's feature), "logits" (at the
  // head's resolution, before the resize to the input: what the toolbox's losses see) and
  // "aux_logits".
  at::Tensor forward(const FeatureMap& backbone_features, FeatureMap& exposed) override;
  std::vector<FeatureSpec> exposed_specs() const override { return exposed_; }

 private:
  std::vector<FeatureSpec> exposed_;
  std::vector<ToolboxConvBn> pyramid_;  // pooled to 1, 2, 3, 6
  ToolboxConvBn block_;
  segdistill::Dropout block_dropout_{nullptr};
  torch::nn::Conv2d classifier_{nullptr};
  std::shared_ptr<ToolboxAuxHead> aux_;
};

}  // namespace segdistill::heads_plugin
