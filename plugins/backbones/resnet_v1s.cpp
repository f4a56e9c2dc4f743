#include "resnet_v1s.hpp"

#include "segdistill/modeling/init.hpp"

namespace segdistill::backbones_plugin {

namespace nn = torch::nn;

namespace {

nn::Conv2d conv3x3(std::int64_t in, std::int64_t out, std::int64_t stride = 1, std::int64_t dilation = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(dilation).dilation(dilation).bias(false));
}

// A 1x1 convolution with the block's stride + BatchNorm whenever the block changes the
// resolution or the channels (so ResNet-18's layer1.0 has one: the stem ends at 128).
nn::Sequential v1b_downsample(std::int64_t in, std::int64_t out, std::int64_t stride) {
  if (stride == 1 && in == out) return nullptr;
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)), segdistill::BatchNorm2d(out));
}

torch::Tensor shortcut(nn::Sequential& downsample, const torch::Tensor& x) { return downsample ? downsample->forward(x) : x; }

}  // namespace

V1bBasicBlock::V1bBasicBlock(std::int64_t in, std::int64_t planes, std::int64_t stride, std::int64_t first_dilation,
                             std::int64_t dilation) {
  conv1 = register_module("conv1", conv3x3(in, planes, stride, first_dilation));
  bn1 = register_module("bn1", segdistill::BatchNorm2d(planes));
  conv2 = register_module("conv2", conv3x3(planes, planes, 1, dilation));
  bn2 = register_module("bn2", segdistill::BatchNorm2d(planes));
  downsample = v1b_downsample(in, planes, stride);
  if (downsample) register_module("downsample", downsample);
}

torch::Tensor V1bBasicBlock::forward(const torch::Tensor& x) {
  torch::Tensor out = bn2(conv2(torch::relu(bn1(conv1(x)))));
  return torch::relu(out + shortcut(downsample, x));
}

V1bBottleneck::V1bBottleneck(std::int64_t in, std::int64_t planes, std::int64_t stride, std::int64_t first_dilation,
                             std::int64_t /*dilation*/) {
  conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(in, planes, 1).bias(false)));
  bn1 = register_module("bn1", segdistill::BatchNorm2d(planes));
  conv2 = register_module("conv2", conv3x3(planes, planes, stride, first_dilation));
  bn2 = register_module("bn2", segdistill::BatchNorm2d(planes));
  conv3 = register_module("conv3", nn::Conv2d(nn::Conv2dOptions(planes, planes * 4, 1).bias(false)));
  bn3 = register_module("bn3", segdistill::BatchNorm2d(planes * 4));
  downsample = v1b_downsample(in, planes * 4, stride);
  if (downsample) register_module("downsample", downsample);
}

torch::Tensor V1bBottleneck::forward(const torch::Tensor& x) {
  torch::Tensor out = torch::relu(bn1(conv1(x)));
  out = bn3(conv3(torch::relu(bn2(conv2(out)))));
  return torch::relu(out + shortcut(downsample, x));
}

ResNetV1s::ResNetV1s(bool bottleneck, const std::array<std::int64_t, 4>& blocks, const ResNetV1sOptions& options)
    : frozen_bn_(options.frozen_bn) {
  conv1 = register_module("conv1", conv3x3(3, 64, 2));
  bn1 = register_module("bn1", segdistill::BatchNorm2d(64));
  conv2 = register_module("conv2", conv3x3(64, 64));
  bn2 = register_module("bn2", segdistill::BatchNorm2d(64));
  conv3 = register_module("conv3", conv3x3(64, 128));
  bn3 = register_module("bn3", segdistill::BatchNorm2d(128));

  const std::int64_t expansion = bottleneck ? 4 : 1;
  const std::array<std::int64_t, 4> planes{64, 128, 256, 512}, strides{1, 2, 1, 1}, dilations{1, 1, 2, 4};
  const std::array<std::int64_t, 4> output_strides{4, 8, 8, 8};
  std::int64_t in = 128;
  for (std::size_t i = 0; i < 4; ++i) {
    nn::Sequential stage;
    for (std::int64_t b = 0; b < blocks[i]; ++b) {
      // The toolbox's rule: a dilated stage's first block starts at half its dilation
      // (1 for dilation 2), except the BasicBlock's second convolution.
      const std::int64_t dilation = dilations[i];
      const std::int64_t first = b == 0 && dilation > 1 ? dilation / 2 : dilation;
      const std::int64_t stride = b == 0 ? strides[i] : 1;
      if (bottleneck)
        stage->push_back(std::make_shared<V1bBottleneck>(in, planes[i], stride, first, dilation));
      else
        stage->push_back(std::make_shared<V1bBasicBlock>(in, planes[i], stride, first, dilation));
      in = planes[i] * expansion;
    }
    layers_[i] = register_module("layer" + std::to_string(i + 1), stage);
    specs_.push_back({"layer" + std::to_string(i + 1), in, output_strides[i]});
  }
  specs_.push_back({"out", in, 8});
  he_normal_init(*this, Fan::kOut);  // the toolbox: kaiming_normal_(fan_out, relu); BatchNorm 1, 0
  if (frozen_bn_) freeze_batch_norms(*this);
}

FeatureMap ResNetV1s::forward(const at::Tensor& images) {
  torch::Tensor x = torch::relu(bn1(conv1(images)));
  x = torch::relu(bn2(conv2(x)));
  x = torch::relu(bn3(conv3(x)));
  x = torch::max_pool2d(x, 3, 2, 1);
  FeatureMap features;
  for (std::size_t i = 0; i < 4; ++i) {
    x = layers_[i]->forward(x);
    features["layer" + std::to_string(i + 1)] = x;
  }
  features["out"] = x;
  return features;
}

void ResNetV1s::train(bool on) {
  Backbone::train(on);
  if (frozen_bn_) freeze_batch_norms(*this);
}

}  // namespace segdistill::backbones_plugin
