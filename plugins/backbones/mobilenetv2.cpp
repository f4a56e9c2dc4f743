#include "mobilenetv2.hpp"

#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>

#include "fixed_padding.hpp"
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

// The reference truncates scaled channel counts (int(c * width)).
std::int64_t truncated(std::int64_t channels, double width) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(channels) * width));
}

// Keeps g where 0 < out < 6, in one pass over both (comparisons and a masked fill took
// three: 0.28 s of a bf16 VOC MobileNetV2 step). Compared as bit patterns: non-negative
// floats (and bf16s) order as their bits do, so 0 < out < 6 is 1 <= bits <= bits(6) - 1
// in unsigned arithmetic (negative values and NaNs fall outside), which vectorises.
template <typename Bits>
void keep_where_inside(const Bits* g, const Bits* out, Bits* result, std::int64_t n, Bits six) {
  at::parallel_for(0, n, 32768, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i)
      result[i] = static_cast<Bits>(out[i] - 1) < static_cast<Bits>(six - 1) ? g[i] : Bits(0);
  });
}

torch::Tensor relu6_gradient(const torch::Tensor& grad, const torch::Tensor& out) {
  const auto format = out.suggest_memory_format();
  const torch::Tensor o = out.contiguous(format), g = grad.contiguous(format);
  torch::Tensor result = at::empty_like(o, o.options(), format);
  if (o.scalar_type() == at::kBFloat16)
    keep_where_inside(reinterpret_cast<const std::uint16_t*>(g.data_ptr()), reinterpret_cast<const std::uint16_t*>(o.data_ptr()),
                      reinterpret_cast<std::uint16_t*>(result.data_ptr()), o.numel(), std::uint16_t{0x40C0});
  else
    keep_where_inside(reinterpret_cast<const std::uint32_t*>(g.data_ptr()), reinterpret_cast<const std::uint32_t*>(o.data_ptr()),
                      reinterpret_cast<std::uint32_t*>(result.data_ptr()), o.numel(), std::uint32_t{0x40C00000});
  return result;
}

// ReLU6 as a clamp whose backward reads its output: LibTorch's clamp keeps its input
// for the backward pass, which would hold the BatchNorm output beside the clamped one
// (the expanded activations are most of MobileNetV2's training memory), and LibTorch
// 1.13's hardtanh backward, which reads the output, has no BFloat16 CPU kernel. The
// gradient is ReLU6's (zero at exactly 0 and 6).
class Relu6Function : public torch::autograd::Function<Relu6Function> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x) {
    torch::Tensor out = x.clamp(0, 6);
    ctx->save_for_backward({out});
    return out;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const torch::Tensor out = ctx->get_saved_variables()[0];
    if (!out.device().is_cpu() || (out.scalar_type() != at::kFloat && out.scalar_type() != at::kBFloat16))
      return {grads[0].masked_fill(out.le(0).logical_or_(out.ge(6)), 0)};
    return {relu6_gradient(grads[0], out)};
  }
};

torch::Tensor clamped_relu6(const torch::Tensor& x) {
  if (!(torch::GradMode::is_enabled() && x.requires_grad())) return x.clamp(0, 6);
  return Relu6Function::apply(x);
}

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
// The published stage features: features.4, .7 and .14 begin the stages whose inputs
// (the outputs of features[0:4], [4:7], [7:14]) their expansion layers re-read.
constexpr std::size_t kStageStarts[] = {4, 7, 14};

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

torch::Tensor InvertedResidual::expansion(const torch::Tensor& x) {
  return conv[1]->as<segdistill::BatchNorm2d>()->forward(conv[0]->as<nn::Conv2d>()->forward(x));
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
  std::vector<FeatureSpec> stage_specs;
  std::int64_t feature_stride = 2;  // of the last block's output
  const auto note_stage_input = [&](std::int64_t expand) {
    for (std::size_t s = 0; s < 3; ++s)
      if (any_blocks.size() == kStageStarts[s])
        stage_specs.push_back({"layer" + std::to_string(s + 1), channels * expand, feature_stride});
  };
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
      note_stage_input(stage.expand);
      auto block = std::make_shared<InvertedResidual>(channels, out, i == 0 ? stride : 1, dilation, stage.expand);
      feature_stride *= i == 0 ? stride : 1;
      blocks_.push_back(block);
      any_blocks.emplace_back(block);
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
  if (options.stage_features) {
    specs_.insert(specs_.end(), stage_specs.begin(), stage_specs.end());
    specs_.push_back({"layer4", channels, options.output_stride});
  }
  he_normal_init(*this, Fan::kIn);  // the published MobileNetV2: kaiming_normal_ (depthwise std sqrt(2/9))
  if (options.frozen_bn) freeze_batch_norms(*this);
}

FeatureMap MobileNetV2::forward(const at::Tensor& images) {
  if (options_.stage_features) return stage_forward(images);
  torch::Tensor low = low_level_features->forward(images);
  torch::Tensor high = high_level_features->forward(low);
  return {{"low_level", low}, {"out", high}};
}

// As the published extract_feature: each stage's expansion layers run in the block first
// (on the padded input), then again here on the unpadded one, in that order, which is
// the order their BatchNorm running statistics are updated in.
FeatureMap MobileNetV2::stage_forward(const at::Tensor& images) {
  FeatureMap out;
  torch::Tensor x = low_level_features->forward(images);
  out["low_level"] = x;
  std::size_t next = kLowLevelEnd;
  for (std::size_t s = 0; s < 3; ++s) {
    const std::size_t end = s + 1 < 3 ? kStageStarts[s + 1] : features->size();
    const torch::Tensor stage_input = x;
    for (; next < end; ++next) x = blocks_[next - 1]->forward(x);
    out["layer" + std::to_string(s + 1)] = blocks_[kStageStarts[s] - 1]->expansion(stage_input);
  }
  out["layer4"] = x;
  out["out"] = x;
  return out;
}

std::vector<FeatureSpec> MobileNetV2::output_specs() const { return specs_; }

void MobileNetV2::train(bool on) {
  Backbone::train(on);
  if (options_.frozen_bn) freeze_batch_norms(*this);
}

}  // namespace segdistill::backbones_plugin
