#include "mobilenetv2.hpp"

#include <cmath>

#include "segdistill/modeling/batch_norm.hpp"
#include "segdistill/modeling/init.hpp"

namespace segdistill::backbones_plugin {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

nn::Conv2d make_conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride = 1, std::int64_t dilation = 1,
                     std::int64_t groups = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).dilation(dilation).groups(groups).bias(false));
}

// Pads like the reference: (k_eff - 1) // 2 before, the rest after, on both axes.
torch::Tensor fixed_padding(const torch::Tensor& x, std::int64_t kernel, std::int64_t dilation) {
  const std::int64_t effective = kernel + (kernel - 1) * (dilation - 1);
  const std::int64_t total = effective - 1;
  const std::int64_t begin = total / 2;
  const std::int64_t end = total - begin;
  return F::pad(x, F::PadFuncOptions({begin, end, begin, end}));
}

// The reference truncates scaled channel counts (int(c * width)).
std::int64_t truncated(std::int64_t channels, double width) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(channels) * width));
}

// ReLU6 as a clamp: the same values and gradient (but at exactly 0 and 6), and its
// backward has the BFloat16 CPU kernel that LibTorch 1.13's hardtanh backward lacks.
torch::Tensor clamped_relu6(const torch::Tensor& x) { return x.clamp(0, 6); }

class Relu6Impl : public nn::Module {
 public:
  torch::Tensor forward(const torch::Tensor& x) { return clamped_relu6(x); }
};
TORCH_MODULE(Relu6);

struct Stage {
  std::int64_t expand, channels, repeats, stride;
};
const Stage kStages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                         {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
constexpr std::size_t kLowLevelEnd = 4;  // features[0:4] give the decoder's low-level input

// features[0]: 3x3 stride-2 convolution, BatchNorm, ReLU6 (keys features.0.0, features.0.1).
class StemConv : public nn::Module {
 public:
  explicit StemConv(std::int64_t channels)
      : conv_(register_module("0", nn::Conv2d(nn::Conv2dOptions(3, channels, 3).stride(2).padding(1).bias(false)))),
        bn_(register_module("1", segdistill::BatchNorm2d(channels))) {}
  torch::Tensor forward(const torch::Tensor& x) { return clamped_relu6(bn_(conv_(x))); }

 private:
  nn::Conv2d conv_;
  segdistill::BatchNorm2d bn_;
};

}  // namespace

InvertedResidual::InvertedResidual(std::int64_t in_channels, std::int64_t out_channels, std::int64_t stride,
                                   std::int64_t dilation, std::int64_t expand_ratio)
    : dilation_(dilation), residual_(stride == 1 && in_channels == out_channels) {
  const auto hidden = static_cast<std::int64_t>(std::lround(static_cast<double>(in_channels * expand_ratio)));
  nn::Sequential layers;
  if (expand_ratio != 1) {
    layers->push_back(make_conv(in_channels, hidden, 1));
    layers->push_back(segdistill::BatchNorm2d(hidden));
    layers->push_back(Relu6());
  }
  layers->push_back(make_conv(hidden, hidden, 3, stride, dilation, hidden));
  layers->push_back(segdistill::BatchNorm2d(hidden));
  layers->push_back(Relu6());
  layers->push_back(make_conv(hidden, out_channels, 1));
  layers->push_back(segdistill::BatchNorm2d(out_channels));
  conv = register_module("conv", layers);
}

torch::Tensor InvertedResidual::forward(const torch::Tensor& x) {
  // The reference pads the block's input, before the expansion convolution: the border
  // the depthwise convolution sees is the expanded padding, not zeros.
  torch::Tensor out = conv->forward(fixed_padding(x, 3, dilation_));
  return residual_ ? x + out : out;
}

MobileNetV2::MobileNetV2(const MobileNetV2Options& options) : options_(options) {
  std::vector<nn::AnyModule> any_blocks;
  std::int64_t channels = truncated(32, options.width);
  any_blocks.emplace_back(std::make_shared<StemConv>(channels));
  std::int64_t current_stride = 2, rate = 1, low_level_channels = 0;
  for (const Stage& stage : kStages) {
    std::int64_t stride = stage.stride, dilation = 1;
    // Once the output stride is reached, strides become dilations.
    if (current_stride == options.output_stride) {
      stride = 1;
      dilation = rate;
      rate *= stage.stride;
    } else {
      current_stride *= stage.stride;
    }
    const std::int64_t out = truncated(stage.channels, options.width);
    for (std::int64_t i = 0; i < stage.repeats; ++i) {
      any_blocks.emplace_back(std::make_shared<InvertedResidual>(channels, out, i == 0 ? stride : 1, dilation, stage.expand));
      channels = out;
    }
    if (any_blocks.size() == kLowLevelEnd) low_level_channels = channels;
  }

  features = nn::Sequential();
  low_level_features = nn::Sequential();
  high_level_features = nn::Sequential();
  for (std::size_t i = 0; i < any_blocks.size(); ++i) {
    const std::string name = std::to_string(i);
    features->push_back(name, any_blocks[i]);
    (i < kLowLevelEnd ? low_level_features : high_level_features)->push_back(name, any_blocks[i]);
  }
  register_module("features", features);
  register_module("low_level_features", low_level_features);
  register_module("high_level_features", high_level_features);
  specs_ = {{"low_level", low_level_channels, 4}, {"out", channels, options.output_stride}};
  he_normal_init(*this, Fan::kIn);  // the published MobileNetV2: kaiming_normal_ (depthwise std sqrt(2/9))
  if (options.frozen_bn) freeze_batch_norms(*this);
}

FeatureMap MobileNetV2::forward(const at::Tensor& images) {
  torch::Tensor low = low_level_features->forward(images);
  torch::Tensor high = high_level_features->forward(low);
  return {{"low_level", low}, {"out", high}};
}

std::vector<FeatureSpec> MobileNetV2::output_specs() const { return specs_; }

void MobileNetV2::train(bool on) {
  Backbone::train(on);
  if (options_.frozen_bn) freeze_batch_norms(*this);
}

}  // namespace segdistill::backbones_plugin
