#include "mobilenetv2_dilated.hpp"

#include "segdistill/modeling/init.hpp"

namespace segdistill::backbones_plugin {

namespace nn = torch::nn;

namespace {

// MobileNetV2's table: expansion t, width c, blocks n, stride s.
struct V2Stage {
  std::int64_t t, c, n, s;
};
const V2Stage kV2Stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                             {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};

nn::Conv2d v2_conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride, std::int64_t dilation,
                   std::int64_t groups) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel)
                        .stride(stride)
                        .padding(kernel == 3 ? dilation : 0)
                        .dilation(dilation)
                        .groups(groups)
                        .bias(false));
}

}  // namespace

DilatedInvertedResidual::DilatedInvertedResidual(std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t dilation,
                                                 std::int64_t expansion)
    : residual_(stride == 1 && in == out) {
  const std::int64_t mid = in * expansion;
  auto conv = register_module("conv", std::make_shared<nn::Module>());
  // Sequential indices of the toolbox: the ReLU6s sit at 2 (and 5) and hold no tensors.
  int index = 0;
  const auto add = [&](std::int64_t cin, std::int64_t cout, std::int64_t kernel, std::int64_t s, std::int64_t d,
                       std::int64_t groups, bool activation) {
    convs_.push_back(conv->register_module(std::to_string(index), v2_conv(cin, cout, kernel, s, d, groups)));
    norms_.push_back(conv->register_module(std::to_string(index + 1), segdistill::BatchNorm2d(cout)));
    index += activation ? 3 : 2;
  };
  if (expansion != 1) add(in, mid, 1, 1, 1, 1, true);
  add(mid, mid, 3, stride, dilation, mid, true);
  add(mid, out, 1, 1, 1, 1, false);
}

torch::Tensor DilatedInvertedResidual::forward(const torch::Tensor& x) {
  torch::Tensor y = x;
  for (std::size_t i = 0; i < convs_.size(); ++i) {
    y = norms_[i](convs_[i](y));
    if (i + 1 < convs_.size()) y = torch::hardtanh(y, 0.0, 6.0);  // ReLU6
  }
  return residual_ ? y + x : y;
}

DilatedMobileNetV2::DilatedMobileNetV2(const DilatedMobileNetV2Options& options) : frozen_bn_(options.frozen_bn) {
  auto features =
      register_module("net", std::make_shared<nn::Module>())->register_module("features", std::make_shared<nn::Module>());
  auto stem = features->register_module("0", std::make_shared<nn::Module>());
  stem_conv_ = stem->register_module("0", v2_conv(3, 32, 3, 2, 1, 1));
  stem_bn_ = stem->register_module("1", segdistill::BatchNorm2d(32));
  std::int64_t in = 32, index = 1, strided = 0, dilation = 1;
  for (const auto& stage : kV2Stages) {
    for (std::int64_t b = 0; b < stage.n; ++b, ++index) {
      std::int64_t stride = b == 0 ? stage.s : 1;
      // Output stride 8: the third and fourth strided stages keep their resolution, their
      // first block at the dilation so far, every later block at twice it.
      const std::int64_t block_dilation = dilation;
      if (stride == 2 && ++strided >= 3) {
        stride = 1;
        dilation *= 2;
      }
      blocks_.push_back(features->register_module(
          std::to_string(index), std::make_shared<DilatedInvertedResidual>(in, stage.c, stride, block_dilation, stage.t)));
      in = stage.c;
    }
  }
  he_normal_init(*this, Fan::kOut);
  if (frozen_bn_) freeze_batch_norms(*this);
}

FeatureMap DilatedMobileNetV2::forward(const at::Tensor& images) {
  torch::Tensor x = torch::hardtanh(stem_bn_(stem_conv_(images)), 0.0, 6.0);
  for (auto& block : blocks_) x = block->forward(x);
  return {{"out", x}};
}

void DilatedMobileNetV2::train(bool on) {
  Backbone::train(on);
  if (frozen_bn_) freeze_batch_norms(*this);
}

}  // namespace segdistill::backbones_plugin
