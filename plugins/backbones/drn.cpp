#include "drn.hpp"

#include "segdistill/modeling/batch_norm.hpp"
#include "segdistill/modeling/init.hpp"

namespace segdistill::backbones_plugin {

namespace nn = torch::nn;

namespace {

// `count` x (3x3 convolution, BatchNorm, ReLU), the first with `stride`; padding = dilation.
nn::Sequential conv_layers(std::int64_t in, std::int64_t channels, std::int64_t count, std::int64_t stride,
                           std::int64_t dilation) {
  nn::Sequential layer;
  for (std::int64_t i = 0; i < count; ++i) {
    layer->push_back(nn::Conv2d(nn::Conv2dOptions(i == 0 ? in : channels, channels, 3)
                                    .stride(i == 0 ? stride : 1)
                                    .padding(dilation)
                                    .dilation(dilation)
                                    .bias(false)));
    layer->push_back(segdistill::BatchNorm2d(channels));
    layer->push_back(nn::ReLU());
  }
  return layer;
}

// Bottleneck blocks; every 3x3 convolution of the stage uses `dilation`. The blocks are
// pre-activation (see resnet_blocks.hpp), which equals DRN's post-ReLU blocks once the
// stage's output is rectified.
nn::Sequential bottleneck_stage(std::int64_t in, std::int64_t planes, std::int64_t count, std::int64_t stride,
                                std::int64_t dilation) {
  nn::Sequential stage;
  for (std::int64_t i = 0; i < count; ++i)
    stage->push_back(
        std::make_shared<Bottleneck>(i == 0 ? in : planes * Bottleneck::kExpansion, planes, i == 0 ? stride : 1, dilation));
  return stage;
}

}  // namespace

DrnD54::DrnD54(const DrnOptions& options) : options_(options) {
  const auto c = [&](std::int64_t channels) { return scaled_channels(channels, options.width); };
  const std::int64_t e = Bottleneck::kExpansion;
  layers_.push_back(nn::Sequential(nn::Conv2d(nn::Conv2dOptions(3, c(16), 7).padding(3).bias(false)),
                                   segdistill::BatchNorm2d(c(16)), nn::ReLU()));
  layers_.push_back(conv_layers(c(16), c(16), 1, 1, 1));
  layers_.push_back(conv_layers(c(16), c(32), 1, 2, 1));
  layers_.push_back(bottleneck_stage(c(32), c(64), 3, 2, 1));
  layers_.push_back(bottleneck_stage(c(64) * e, c(128), 4, 2, 1));
  layers_.push_back(bottleneck_stage(c(128) * e, c(256), 6, 1, 2));
  layers_.push_back(bottleneck_stage(c(256) * e, c(512), 3, 1, 4));
  layers_.push_back(conv_layers(c(512) * e, c(512), 1, 1, 2));
  layers_.push_back(conv_layers(c(512), c(512), 1, 1, 1));
  for (std::size_t i = 0; i < layers_.size(); ++i) register_module("layer" + std::to_string(i), layers_[i]);
  specs_ = {{"low_level", c(64) * e, 4}, {"out", c(512), 8}};
  he_normal_init(*this, Fan::kOut);  // the published DRN: normal(0, sqrt(2 / (k * k * out)))
  if (options.frozen_bn) freeze_batch_norms(*this);
}

FeatureMap DrnD54::forward(const at::Tensor& images) {
  torch::Tensor x = images;
  for (std::size_t i = 0; i < 3; ++i) x = layers_[i]->forward(x);
  const torch::Tensor low_level = torch::relu(layers_[3]->forward(x));
  x = low_level;
  for (std::size_t i = 4; i < 7; ++i) x = layers_[i]->forward(x);
  x = layers_[7]->forward(torch::relu(x));
  return {{"low_level", low_level}, {"out", layers_[8]->forward(x)}};
}

std::vector<FeatureSpec> DrnD54::output_specs() const { return specs_; }

void DrnD54::train(bool on) {
  Backbone::train(on);
  if (options_.frozen_bn) freeze_batch_norms(*this);
}

}  // namespace segdistill::backbones_plugin
