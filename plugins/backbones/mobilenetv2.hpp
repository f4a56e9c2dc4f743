#pragma once
// MobileNetV2 backbone of the reference DeepLabV3+: dilated once the output stride is
// reached; depthwise convolutions padded explicitly ("fixed padding").
#include <vector>

#include <torch/torch.h>

#include "backbone_options.hpp"
#include "segdistill/modeling/backbone.hpp"

namespace segdistill::backbones_plugin {

class InvertedResidual : public torch::nn::Module {
 public:
  InvertedResidual(std::int64_t in_channels, std::int64_t out_channels, std::int64_t stride, std::int64_t dilation,
                   std::int64_t expand_ratio);
  torch::Tensor forward(const torch::Tensor& x);
  // The expansion convolution and its BatchNorm alone, on the unpadded input (the
  // published extract_feature's stage features). Only for blocks that expand.
  torch::Tensor expansion(const torch::Tensor& x);

 private:
  std::int64_t dilation_;
  bool residual_;
  torch::nn::Sequential conv{nullptr};
};

class MobileNetV2 : public Backbone {
 public:
  explicit MobileNetV2(const MobileNetV2Options& options);
  FeatureMap forward(const at::Tensor& images) override;
  std::vector<FeatureSpec> output_specs() const override;
  // The published ImageNet file: the classifier and the last 320 -> 1280 stage, which
  // DeepLabV3+ does not use.
  std::vector<std::string> pretrained_ignored_prefixes() const override { return {"classifier.", "features.18."}; }
  void train(bool on = true) override;

 private:
  MobileNetV2Options options_;
  std::vector<FeatureSpec> specs_;
  // features = low_level_features + high_level_features, the same modules under the
  // three names of the reference state dict.
  torch::nn::Sequential features{nullptr}, low_level_features{nullptr}, high_level_features{nullptr};
  std::vector<std::shared_ptr<InvertedResidual>> blocks_;  // features.1 .. features.17
  FeatureMap stage_forward(const at::Tensor& images);
};

}  // namespace segdistill::backbones_plugin
