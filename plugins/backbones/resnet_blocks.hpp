#pragma once
// Residual blocks of the reference DeepLabV3+ ResNets. A block applies ReLU to its
// input first and returns the residual sum without a final ReLU (the stage outputs are
// pre-activation), which equals the usual post-ReLU ResNet numerically.
#include <torch/torch.h>
#include "segdistill/modeling/batch_norm.hpp"

namespace segdistill::backbones_plugin {

class ResidualBlock : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};

// Two 3x3 convolutions (ResNet-18/34). Both use the stage's dilation.
class BasicBlock : public ResidualBlock {
 public:
  BasicBlock(std::int64_t in_channels, std::int64_t channels, std::int64_t stride, std::int64_t dilation);
  torch::Tensor forward(const torch::Tensor& x) override;
  static constexpr std::int64_t kExpansion = 1;

 private:
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  segdistill::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential downsample{nullptr};
};

// 1x1 -> 3x3 (strided, dilated) -> 1x1 x4 (ResNet-50/101).
class Bottleneck : public ResidualBlock {
 public:
  Bottleneck(std::int64_t in_channels, std::int64_t channels, std::int64_t stride, std::int64_t dilation);
  torch::Tensor forward(const torch::Tensor& x) override;
  static constexpr std::int64_t kExpansion = 4;

 private:
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  segdistill::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};
};

// 1x1 convolution + BatchNorm when the block changes resolution or channels, else empty.
torch::nn::Sequential make_downsample(std::int64_t in_channels, std::int64_t out_channels, std::int64_t stride);

}  // namespace segdistill::backbones_plugin
