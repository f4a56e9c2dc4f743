#pragma once
// The CIRKD toolbox's dilated ResNet "v1s" (resnetv1b.py): a deep stem of three 3x3
// convolutions (64, 64, 128 channels) and a 3x3 max-pool, then stages of 64..512 planes
// with strides 1, 2, 1, 1 and dilations 1, 1, 2, 4: output stride 8, every stage output
// after its ReLU. Its state dict is the toolbox's (conv1..3/bn1..3, layerN.M.*).
#include <array>
#include <vector>

#include <torch/torch.h>

#include "segdistill/config/schema.hpp"
#include "segdistill/modeling/backbone.hpp"
#include "segdistill/modeling/batch_norm.hpp"

namespace segdistill::backbones_plugin {

struct ResNetV1sOptions {
  bool frozen_bn;
  static void declare(Schema<ResNetV1sOptions>& s) {
    s.field("frozen_bn", &ResNetV1sOptions::frozen_bn, "keep BatchNorm statistics and affine parameters fixed")
        .default_value(false);
  }
};

// A residual block of the toolbox: ReLU after the sum.
class V1bBlock : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};

// Two 3x3 convolutions; the first with `first_dilation`, the second with `dilation`.
class V1bBasicBlock : public V1bBlock {
 public:
  V1bBasicBlock(std::int64_t in, std::int64_t planes, std::int64_t stride, std::int64_t first_dilation, std::int64_t dilation);
  torch::Tensor forward(const torch::Tensor& x) override;

 private:
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  segdistill::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential downsample{nullptr};
};

// 1x1 -> 3x3 (strided, `first_dilation` in a stage's first block) -> 1x1 x4.
class V1bBottleneck : public V1bBlock {
 public:
  V1bBottleneck(std::int64_t in, std::int64_t planes, std::int64_t stride, std::int64_t first_dilation, std::int64_t dilation);
  torch::Tensor forward(const torch::Tensor& x) override;

 private:
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  segdistill::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};
};

class ResNetV1s : public Backbone {
 public:
  ResNetV1s(bool bottleneck, const std::array<std::int64_t, 4>& blocks, const ResNetV1sOptions& options);
  // layer1..layer4 (c1..c4: 1/4, 1/8, 1/8, 1/8) and out (= layer4).
  FeatureMap forward(const at::Tensor& images) override;
  std::vector<FeatureSpec> output_specs() const override { return specs_; }
  // The toolbox's ImageNet files (resnet18-imagenet.pth, deep-stem layout): the classifier.
  std::vector<std::string> pretrained_ignored_prefixes() const override { return {"fc."}; }
  void train(bool on = true) override;

 private:
  bool frozen_bn_;
  std::vector<FeatureSpec> specs_;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  segdistill::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  std::array<torch::nn::Sequential, 4> layers_{nullptr, nullptr, nullptr, nullptr};
};

}  // namespace segdistill::backbones_plugin
