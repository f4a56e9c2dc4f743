#include "resnet_blocks.hpp"

namespace segdistill::backbones_plugin {

namespace nn = torch::nn;

namespace {
nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride = 1, std::int64_t dilation = 1) {
  return nn::Conv2d(
      nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel == 3 ? dilation : 0).dilation(dilation).bias(false));
}
}  // namespace

nn::Sequential make_downsample(std::int64_t in_channels, std::int64_t out_channels, std::int64_t stride) {
  if (stride == 1 && in_channels == out_channels) return nullptr;
  return nn::Sequential(conv(in_channels, out_channels, 1, stride), segdistill::BatchNorm2d(out_channels));
}

BasicBlock::BasicBlock(std::int64_t in_channels, std::int64_t channels, std::int64_t stride, std::int64_t dilation) {
  conv1 = register_module("conv1", conv(in_channels, channels, 3, stride, dilation));
  bn1 = register_module("bn1", segdistill::BatchNorm2d(channels));
  conv2 = register_module("conv2", conv(channels, channels, 3, 1, dilation));
  bn2 = register_module("bn2", segdistill::BatchNorm2d(channels));
  if (auto d = make_downsample(in_channels, channels * kExpansion, stride)) downsample = register_module("downsample", d);
}

// The ReLUs after a BatchNorm and the residual sum work in place, as in the published
// blocks: neither BatchNorm's nor a convolution's backward reads its output, and the pass
// writes two fewer feature maps per block. The block's input stays as it is: it is the
// previous stage's (pre-ReLU) feature.
torch::Tensor BasicBlock::forward(const torch::Tensor& x) {
  const torch::Tensor input = torch::relu(x);
  torch::Tensor out = bn1(conv1(input)).relu_();
  out = bn2(conv2(out));
  return out.add_(downsample ? downsample->forward(input) : input);
}

Bottleneck::Bottleneck(std::int64_t in_channels, std::int64_t channels, std::int64_t stride, std::int64_t dilation) {
  conv1 = register_module("conv1", conv(in_channels, channels, 1));
  bn1 = register_module("bn1", segdistill::BatchNorm2d(channels));
  conv2 = register_module("conv2", conv(channels, channels, 3, stride, dilation));
  bn2 = register_module("bn2", segdistill::BatchNorm2d(channels));
  conv3 = register_module("conv3", conv(channels, channels * kExpansion, 1));
  bn3 = register_module("bn3", segdistill::BatchNorm2d(channels * kExpansion));
  if (auto d = make_downsample(in_channels, channels * kExpansion, stride)) downsample = register_module("downsample", d);
}

torch::Tensor Bottleneck::forward(const torch::Tensor& x) {
  const torch::Tensor input = torch::relu(x);
  torch::Tensor out = bn1(conv1(input)).relu_();
  out = bn2(conv2(out)).relu_();
  out = bn3(conv3(out));
  return out.add_(downsample ? downsample->forward(input) : input);
}

}  // namespace segdistill::backbones_plugin
