#pragma once
// DRN-D-54 of the reference DeepLabV3+ (drn.py): a dilated residual network that stays
// at stride 8 (layers 5 and 6 dilated 2 and 4), with plain conv-BN-ReLU layers at both
// ends instead of max pooling and residual blocks.
#include <vector>

#include <torch/torch.h>

#include "backbone_options.hpp"
#include "resnet_blocks.hpp"
#include "segdistill/modeling/backbone.hpp"

namespace segdistill::backbones_plugin {

class DrnD54 : public Backbone {
 public:
  explicit DrnD54(const DrnOptions& options);
  FeatureMap forward(const at::Tensor& images) override;
  std::vector<FeatureSpec> output_specs() const override;
  // The ImageNet file (drn_d_54-0e0534ff.pth) has its classifier as fc.*.
  std::vector<std::string> pretrained_ignored_prefixes() const override { return {"fc."}; }
  void train(bool on = true) override;

 private:
  DrnOptions options_;
  std::vector<FeatureSpec> specs_;
  // layer0 .. layer8: conv-BN-ReLU layers (0, 1, 2, 7, 8) and Bottleneck stages (3 - 6).
  std::vector<torch::nn::Sequential> layers_;
};

}  // namespace segdistill::backbones_plugin
