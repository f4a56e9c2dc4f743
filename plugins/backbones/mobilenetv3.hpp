#pragma once
// The CIRKD toolbox's MobileNetV3 small / large (from sssegmentation), dilated to output
// stride 8: HardSwish / ReLU activations, squeeze-excite gates with HardSigmoid, and
// TensorFlow-"SAME" padding on the convolutions that were strided. The state dict is the
// toolbox's: layer0.{conv,bn}, layerN.{expand_conv,depthwise_conv,se.conv1,se.conv2,
// linear_conv}, and a last 1x1 layer (576 / 960 channels, the only output).
#include <vector>

#include <torch/torch.h>

#include "segdistill/config/schema.hpp"
#include "segdistill/modeling/backbone.hpp"
#include "segdistill/modeling/batch_norm.hpp"

namespace segdistill::backbones_plugin {

struct MobileNetV3Options {
  bool frozen_bn;
  static void declare(Schema<MobileNetV3Options>& s) {
    s.field("frozen_bn", &MobileNetV3Options::frozen_bn, "keep BatchNorm statistics and affine parameters fixed")
        .default_value(false);
  }
};

enum class V3Activation { kNone, kReLU, kHardSwish };

// conv (no bias) + BN + activation; `same_padding`: TensorFlow SAME padding computed from
// the input size (split floor / ceil before / after), else symmetric dilation * (k - 1) / 2.
class V3ConvBn : public torch::nn::Module {
 public:
  V3ConvBn(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride, std::int64_t dilation,
           std::int64_t groups, bool same_padding, V3Activation activation);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::int64_t kernel_, stride_, dilation_;
  bool same_padding_;
  V3Activation activation_;
  torch::nn::Conv2d conv{nullptr};
  segdistill::BatchNorm2d bn{nullptr};
};

// One row of the network's table: kernel, expanded channels, output channels, SE,
// activation, stride.
struct V3BlockSetting {
  std::int64_t kernel, mid, out;
  bool se;
  V3Activation activation;
  std::int64_t stride;
};

class V3InvertedResidual : public torch::nn::Module {
 public:
  // `stride` / `dilation`: after the output-stride conversion; `setting.stride` the original.
  V3InvertedResidual(std::int64_t in, const V3BlockSetting& setting, std::int64_t stride, std::int64_t dilation);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  bool residual_;
  std::shared_ptr<V3ConvBn> expand_conv, depthwise_conv, linear_conv;
  torch::nn::Conv2d se_reduce{nullptr}, se_expand{nullptr};
};

class MobileNetV3 : public Backbone {
 public:
  MobileNetV3(bool large, const MobileNetV3Options& options);
  FeatureMap forward(const at::Tensor& images) override;
  std::vector<FeatureSpec> output_specs() const override { return specs_; }
  void train(bool on = true) override;

 private:
  bool frozen_bn_;
  std::vector<FeatureSpec> specs_;
  std::shared_ptr<V3ConvBn> first_, last_;
  std::vector<std::shared_ptr<V3InvertedResidual>> blocks_;
};

// The squeeze-excite width of the toolbox for `mid` expanded channels (make_divisible(mid / 4, 8)).
std::int64_t v3_squeeze_channels(std::int64_t mid);

}  // namespace segdistill::backbones_plugin
