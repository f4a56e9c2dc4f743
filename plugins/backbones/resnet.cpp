#include "resnet.hpp"

#include "segdistill/modeling/batch_norm.hpp"
#include "segdistill/modeling/init.hpp"

namespace segdistill::backbones_plugin {

namespace nn = torch::nn;

namespace {
// Stage strides and dilations of the reference for each output stride.
struct StagePlan {
  std::array<std::int64_t, 4> strides;
  std::array<std::int64_t, 4> dilations;
};
StagePlan stage_plan(std::int64_t output_stride) {
  if (output_stride == 8) return {{1, 2, 1, 1}, {1, 1, 2, 4}};
  return {{1, 2, 2, 1}, {1, 1, 1, 2}};
}
}  // namespace

ResNet::ResNet(const ResNetLayout& layout, const ResNetOptions& options) : layout_(layout), options_(options) {
  const std::int64_t expansion = layout.block == BlockKind::Basic ? BasicBlock::kExpansion : Bottleneck::kExpansion;
  in_channels_ = scaled_channels(64, options.width);
  conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(3, in_channels_, 7).stride(2).padding(3).bias(false)));
  bn1 = register_module("bn1", segdistill::BatchNorm2d(in_channels_));
  maxpool = register_module("maxpool", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));

  const StagePlan plan = stage_plan(options.output_stride);
  const std::array<std::int64_t, 4> widths{64, 128, 256, 512};
  std::int64_t stride = 4;
  for (std::size_t i = 0; i < 4; ++i) {
    // Bottleneck networks use a multi-grid layer4: block dilations 1x, 2x, 4x the stage's.
    std::vector<std::int64_t> grid;
    if (i == 3 && layout.block == BlockKind::Bottleneck) grid = {1, 2, 4};
    const std::int64_t blocks = grid.empty() ? layout.blocks[i] : static_cast<std::int64_t>(grid.size());
    layers_[i] = register_module("layer" + std::to_string(i + 1), make_stage(scaled_channels(widths[i], options.width), blocks,
                                                                             plan.strides[i], plan.dilations[i], grid));
    stride *= plan.strides[i];
    specs_.push_back({"layer" + std::to_string(i + 1), scaled_channels(widths[i], options.width) * expansion, stride});
  }
  specs_.push_back({"low_level", specs_[0].channels, specs_[0].stride});
  specs_.push_back({"out", specs_[3].channels, specs_[3].stride});
  he_normal_init(*this, Fan::kOut);  // the published ResNet: normal(0, sqrt(2 / (k * k * out)))
  if (options.frozen_bn) freeze_batch_norms(*this);
}

nn::Sequential ResNet::make_stage(std::int64_t channels, std::int64_t blocks, std::int64_t stride, std::int64_t dilation,
                                  const std::vector<std::int64_t>& multi_grid) {
  nn::Sequential stage;
  for (std::int64_t b = 0; b < blocks; ++b) {
    const std::int64_t block_dilation = multi_grid.empty() ? dilation : dilation * multi_grid[static_cast<std::size_t>(b)];
    const std::int64_t block_stride = b == 0 ? stride : 1;
    if (layout_.block == BlockKind::Basic) {
      stage->push_back(std::make_shared<BasicBlock>(in_channels_, channels, block_stride, block_dilation));
      in_channels_ = channels * BasicBlock::kExpansion;
    } else {
      stage->push_back(std::make_shared<Bottleneck>(in_channels_, channels, block_stride, block_dilation));
      in_channels_ = channels * Bottleneck::kExpansion;
    }
  }
  return stage;
}

FeatureMap ResNet::forward(const at::Tensor& images) {
  FeatureMap features;
  torch::Tensor x = maxpool(bn1(conv1(images)).relu_());
  for (std::size_t i = 0; i < 4; ++i) {
    x = layers_[i]->forward(x);
    features["layer" + std::to_string(i + 1)] = x;
  }
  features["low_level"] = torch::relu(features["layer1"]);
  features["out"] = torch::relu(x);
  return features;
}

std::vector<FeatureSpec> ResNet::output_specs() const { return specs_; }

void ResNet::train(bool on) {
  Backbone::train(on);
  if (options_.frozen_bn) freeze_batch_norms(*this);
}

}  // namespace segdistill::backbones_plugin
