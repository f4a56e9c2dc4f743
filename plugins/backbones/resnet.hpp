#pragma once
// ResNet backbones of the reference DeepLabV3+ (dilated for output stride 8 or 16;
// multi-grid layer4 for Bottleneck networks).
#include <array>
#include <vector>

#include <torch/torch.h>

#include "backbone_options.hpp"
#include "resnet_blocks.hpp"
#include "segdistill/modeling/backbone.hpp"
#include "segdistill/modeling/batch_norm.hpp"

namespace segdistill::backbones_plugin {

enum class BlockKind { Basic, Bottleneck };

struct ResNetLayout {
  BlockKind block;
  std::array<std::int64_t, 4> blocks;  // per stage
};

class ResNet : public Backbone {
 public:
  ResNet(const ResNetLayout& layout, const ResNetOptions& options);
  FeatureMap forward(const at::Tensor& images) override;
  std::vector<FeatureSpec> output_specs() const override;
  // torchvision's ImageNet files: the classifier.
  std::vector<std::string> pretrained_ignored_prefixes() const override { return {"fc."}; }
  void train(bool on = true) override;

 private:
  torch::nn::Sequential make_stage(std::int64_t channels, std::int64_t blocks, std::int64_t stride, std::int64_t dilation,
                                   const std::vector<std::int64_t>& multi_grid);

  ResNetLayout layout_;
  ResNetOptions options_;
  std::int64_t in_channels_ = 0;
  std::vector<FeatureSpec> specs_;
  torch::nn::Conv2d conv1{nullptr};
  segdistill::BatchNorm2d bn1{nullptr};
  torch::nn::MaxPool2d maxpool{nullptr};
  std::array<torch::nn::Sequential, 4> layers_{nullptr, nullptr, nullptr, nullptr};
};

}  // namespace segdistill::backbones_plugin
