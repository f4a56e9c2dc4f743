#pragma once
// Pieces the CIRKD toolbox's heads share, with its state-dict names: a conv + BN whose
// torch Sequential indices are "0" and "1", and the auxiliary FCN head (`auxlayer.*`).
#include <string>
#include <vector>

#include <torch/torch.h>

#include "segdistill/modeling/batch_norm.hpp"
#include "segdistill/modeling/dropout.hpp"
#include "segdistill/modeling/head.hpp"

namespace segdistill::heads_plugin {

// A convolution (no bias) and its BatchNorm registered in `parent` as `<conv_index>` and
// `<conv_index + 1>`; forward() applies both and a ReLU.
class ToolboxConvBn {
 public:
  ToolboxConvBn() = default;
  ToolboxConvBn(torch::nn::Module& parent, int conv_index, std::int64_t in, std::int64_t out, std::int64_t kernel,
                std::int64_t dilation = 1, std::int64_t stride = 1);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv_{nullptr};
  segdistill::BatchNorm2d bn_{nullptr};
};

// The toolbox's _FCNHead on c3 (the backbone feature `source`): block.{0: 3x3 conv C -> C/4,
// 1: BN, 2: ReLU, 3: Dropout(0.1), 4: 1x1 conv -> classes (bias)}.
class ToolboxAuxHead : public torch::nn::Module {
 public:
  ToolboxAuxHead(std::string source, std::int64_t in, std::int64_t num_classes);
  torch::Tensor forward(const FeatureMap& backbone_features);

 private:
  std::string source_;
  ToolboxConvBn conv_bn_;
  segdistill::Dropout dropout_{nullptr};
  torch::nn::Conv2d classifier_{nullptr};
};

// With `aux`, the auxiliary head on the backbone feature `aux_from`, registered on `head` as
// `auxlayer` and its logits listed in `exposed` as "aux_logits"; nullptr without. `type`
// names the head in errors.
std::shared_ptr<ToolboxAuxHead> add_aux_head(Head& head, bool aux, const std::string& aux_from, const HeadContext& context,
                                             const std::string& type, std::vector<FeatureSpec>& exposed);

// What every toolbox head exposes: "feature", "logits" (at the head's resolution) and, with
// an auxiliary head, "aux_logits". Returns the logits.
at::Tensor expose_toolbox_outputs(const at::Tensor& feature, const at::Tensor& logits, ToolboxAuxHead* aux,
                                  const FeatureMap& backbone_features, FeatureMap& exposed);

// Bilinear resize with align_corners = true (the toolbox's DeepLabV3 and PSPNet heads) to
// `like`'s size.
torch::Tensor toolbox_resize(const torch::Tensor& x, const torch::Tensor& like);

// Bilinear resize with align_corners = false (its UPerNet) to height x width.
torch::Tensor resize_half_pixel(const torch::Tensor& x, std::int64_t height, std::int64_t width);

}  // namespace segdistill::heads_plugin
