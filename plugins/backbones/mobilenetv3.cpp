#include "mobilenetv3.hpp"

#include <algorithm>

#include "segdistill/modeling/init.hpp"

namespace segdistill::backbones_plugin {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

torch::Tensor activate(const torch::Tensor& x, V3Activation activation) {
  switch (activation) {
    case V3Activation::kReLU:
      return torch::relu(x);
    case V3Activation::kHardSwish:
      return torch::hardswish(x);
    case V3Activation::kNone:
      break;
  }
  return x;
}

constexpr V3Activation kRE = V3Activation::kReLU;
constexpr V3Activation kHS = V3Activation::kHardSwish;

// The toolbox's tables (kernel, mid, out, SE, activation, stride).
const std::vector<V3BlockSetting>& small_settings() {
  static const std::vector<V3BlockSetting> rows{
      {3, 16, 16, true, kRE, 2},  {3, 72, 24, false, kRE, 2}, {3, 88, 24, false, kRE, 1}, {5, 96, 40, true, kHS, 2},
      {5, 240, 40, true, kHS, 1}, {5, 240, 40, true, kHS, 1}, {5, 120, 48, true, kHS, 1}, {5, 144, 48, true, kHS, 1},
      {5, 288, 96, true, kHS, 2}, {5, 576, 96, true, kHS, 1}, {5, 576, 96, true, kHS, 1}};
  return rows;
}
const std::vector<V3BlockSetting>& large_settings() {
  static const std::vector<V3BlockSetting> rows{
      {3, 16, 16, false, kRE, 1},  {3, 64, 24, false, kRE, 2},  {3, 72, 24, false, kRE, 1},  {5, 72, 40, true, kRE, 2},
      {5, 120, 40, true, kRE, 1},  {5, 120, 40, true, kRE, 1},  {3, 240, 80, false, kHS, 2}, {3, 200, 80, false, kHS, 1},
      {3, 184, 80, false, kHS, 1}, {3, 184, 80, false, kHS, 1}, {3, 480, 112, true, kHS, 1}, {3, 672, 112, true, kHS, 1},
      {5, 672, 160, true, kHS, 2}, {5, 960, 160, true, kHS, 1}, {5, 960, 160, true, kHS, 1}};
  return rows;
}

}  // namespace

std::int64_t v3_squeeze_channels(std::int64_t mid) {
  const std::int64_t quarter = mid / 4;
  std::int64_t channels = std::max<std::int64_t>(8, (quarter + 4) / 8 * 8);
  if (static_cast<double>(channels) < 0.9 * static_cast<double>(quarter)) channels += 8;
  return channels;
}

V3ConvBn::V3ConvBn(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride, std::int64_t dilation,
                   std::int64_t groups, bool same_padding, V3Activation activation)
    : kernel_(kernel), stride_(stride), dilation_(dilation), same_padding_(same_padding), activation_(activation) {
  const std::int64_t padding = same_padding ? 0 : dilation * (kernel - 1) / 2;
  conv = register_module(
      "conv",
      nn::Conv2d(
          nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).dilation(dilation).groups(groups).bias(false)));
  bn = register_module("bn", segdistill::BatchNorm2d(out));
}

torch::Tensor V3ConvBn::forward(const torch::Tensor& x) {
  torch::Tensor input = x;
  if (same_padding_) {
    const auto total = [&](std::int64_t size) {
      const std::int64_t steps = (size + stride_ - 1) / stride_;
      return std::max<std::int64_t>((steps - 1) * stride_ + (kernel_ - 1) * dilation_ + 1 - size, 0);
    };
    const std::int64_t h = total(x.size(2)), w = total(x.size(3));
    if (h > 0 || w > 0) input = F::pad(x, F::PadFuncOptions({w / 2, w - w / 2, h / 2, h - h / 2}));
  }
  return activate(bn(conv(input)), activation_);
}

V3InvertedResidual::V3InvertedResidual(std::int64_t in, const V3BlockSetting& s, std::int64_t stride, std::int64_t dilation)
    : residual_(s.stride == 1 && in == s.out) {
  if (s.mid != in)
    expand_conv = register_module("expand_conv", std::make_shared<V3ConvBn>(in, s.mid, 1, 1, 1, 1, false, s.activation));
  // The convolutions that were strided keep TensorFlow SAME padding (also after the conversion).
  depthwise_conv = register_module(
      "depthwise_conv", std::make_shared<V3ConvBn>(s.mid, s.mid, s.kernel, stride, dilation, s.mid, s.stride == 2, s.activation));
  if (s.se) {
    auto se = register_module("se", std::make_shared<nn::Module>());
    const std::int64_t squeeze = v3_squeeze_channels(s.mid);
    se_reduce = se->register_module("conv1", std::make_shared<nn::Module>())
                    ->register_module("conv", nn::Conv2d(nn::Conv2dOptions(s.mid, squeeze, 1)));
    se_expand = se->register_module("conv2", std::make_shared<nn::Module>())
                    ->register_module("conv", nn::Conv2d(nn::Conv2dOptions(squeeze, s.mid, 1)));
  }
  linear_conv = register_module("linear_conv", std::make_shared<V3ConvBn>(s.mid, s.out, 1, 1, 1, 1, false, V3Activation::kNone));
}

torch::Tensor V3InvertedResidual::forward(const torch::Tensor& x) {
  torch::Tensor out = expand_conv ? expand_conv->forward(x) : x;
  out = depthwise_conv->forward(out);
  if (se_reduce) {
    const torch::Tensor gate = torch::relu(se_reduce(out.mean({2, 3}, /*keepdim=*/true)));
    out = out * torch::hardsigmoid(se_expand(gate));
  }
  out = linear_conv->forward(out);
  return residual_ ? out + x : out;
}

MobileNetV3::MobileNetV3(bool large, const MobileNetV3Options& options) : frozen_bn_(options.frozen_bn) {
  first_ = register_module("layer0", std::make_shared<V3ConvBn>(3, 16, 3, 2, 1, 1, true, kHS));
  const auto& settings = large ? large_settings() : small_settings();
  // Output stride 8: the blocks from the third stride-2 one on keep stride 1 and dilate by
  // 2, from the fourth by 4 (small: layer4, layer9; large: layer7, layer13).
  std::int64_t in = 16, strided = 0, dilation = 1;
  for (std::size_t i = 0; i < settings.size(); ++i) {
    std::int64_t stride = settings[i].stride;
    if (stride == 2 && ++strided >= 3) {
      stride = 1;
      dilation *= 2;
    }
    blocks_.push_back(register_module("layer" + std::to_string(i + 1),
                                      std::make_shared<V3InvertedResidual>(in, settings[i], stride, dilation)));
    in = settings[i].out;
  }
  const std::int64_t out = large ? 960 : 576;
  last_ =
      register_module("layer" + std::to_string(settings.size() + 1), std::make_shared<V3ConvBn>(in, out, 1, 1, 1, 1, false, kHS));
  specs_ = {{"out", out, 8}};
  he_normal_init(*this, Fan::kOut);
  if (frozen_bn_) freeze_batch_norms(*this);
}

FeatureMap MobileNetV3::forward(const at::Tensor& images) {
  torch::Tensor x = first_->forward(images);
  for (auto& block : blocks_) x = block->forward(x);
  return {{"out", last_->forward(x)}};
}

void MobileNetV3::train(bool on) {
  Backbone::train(on);
  if (frozen_bn_) freeze_batch_norms(*this);
}

}  // namespace segdistill::backbones_plugin
