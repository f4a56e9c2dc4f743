#include "xception.hpp"

#include "fixed_padding.hpp"
#include "segdistill/modeling/init.hpp"

namespace segdistill::backbones_plugin {

namespace nn = torch::nn;

SeparableConvImpl::SeparableConvImpl(std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t dilation)
    : dilation_(dilation) {
  conv1_ =
      register_module("conv1", nn::Conv2d(nn::Conv2dOptions(in, in, 3).stride(stride).dilation(dilation).groups(in).bias(false)));
  bn_ = register_module("bn", segdistill::BatchNorm2d(in));
  pointwise_ = register_module("pointwise", nn::Conv2d(nn::Conv2dOptions(in, out, 1).bias(false)));
}

torch::Tensor SeparableConvImpl::forward(const torch::Tensor& x) {
  return pointwise_(bn_(conv1_(fixed_padding(x, 3, dilation_))));
}

XceptionBlockImpl::XceptionBlockImpl(const XceptionBlockOptions& o) : start_with_relu_(o.start_with_relu) {
  rep_ = register_module("rep", nn::Sequential());
  bool first = true;
  const auto add = [&](std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t dilation) {
    // The ReLU before the first separable convolution exists only with start_with_relu;
    // the module indices of the state dict shift with it.
    if (!first || o.start_with_relu) rep_->push_back(nn::ReLU());
    first = false;
    rep_->push_back(SeparableConv(in, out, stride, dilation));
    rep_->push_back(segdistill::BatchNorm2d(out));
  };
  std::int64_t channels = o.in;
  if (o.grow_first) {
    add(o.in, o.out, 1, o.dilation);
    channels = o.out;
  }
  for (std::int64_t i = 1; i < o.reps; ++i) add(channels, channels, 1, o.dilation);
  if (!o.grow_first) add(o.in, o.out, 1, o.dilation);
  if (o.stride != 1)
    add(o.out, o.out, o.stride, 1);
  else if (o.is_last)
    add(o.out, o.out, 1, 1);
  if (o.out != o.in || o.stride != 1) {
    skip_ = register_module("skip", nn::Conv2d(nn::Conv2dOptions(o.in, o.out, 1).stride(o.stride).bias(false)));
    skip_bn_ = register_module("skipbn", segdistill::BatchNorm2d(o.out));
  }
}

torch::Tensor XceptionBlockImpl::forward(const torch::Tensor& x) {
  // The reference's leading ReLU is in place, so the skip path sees the rectified input.
  const torch::Tensor input = start_with_relu_ ? torch::relu(x) : x;
  torch::Tensor out = input;
  auto it = rep_->begin();
  if (start_with_relu_) ++it;  // applied above
  for (; it != rep_->end(); ++it) out = it->forward(out);
  return out + (skip_ ? skip_bn_(skip_(input)) : input);
}

Xception::Xception(const XceptionOptions& options) : options_(options) {
  const auto c = [&](std::int64_t channels) { return scaled_channels(channels, options.width); };
  const bool os8 = options.output_stride == 8;
  const std::int64_t entry_stride = os8 ? 1 : 2, middle_dilation = os8 ? 2 : 1;
  const std::int64_t exit_dilations[2] = {os8 ? 2 : 1, os8 ? 4 : 2};

  conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(3, c(32), 3).stride(2).padding(1).bias(false)));
  bn1_ = register_module("bn1", segdistill::BatchNorm2d(c(32)));
  conv2_ = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(c(32), c(64), 3).padding(1).bias(false)));
  bn2_ = register_module("bn2", segdistill::BatchNorm2d(c(64)));
  std::vector<XceptionBlockOptions> layout;
  layout.push_back({c(64), c(128), 2, 2, 1, false, true, false});
  layout.push_back({c(128), c(256), 2, 2, 1, false, true, false});
  layout.push_back({c(256), c(728), 2, entry_stride, 1, true, true, true});
  for (int i = 0; i < 16; ++i) layout.push_back({c(728), c(728), 3, 1, middle_dilation, true, true, false});
  layout.push_back({c(728), c(1024), 2, 1, exit_dilations[0], true, false, true});
  for (std::size_t i = 0; i < layout.size(); ++i)
    blocks_.push_back(register_module("block" + std::to_string(i + 1), XceptionBlock(layout[i])));
  conv3_ = register_module("conv3", SeparableConv(c(1024), c(1536), 1, exit_dilations[1]));
  bn3_ = register_module("bn3", segdistill::BatchNorm2d(c(1536)));
  conv4_ = register_module("conv4", SeparableConv(c(1536), c(1536), 1, exit_dilations[1]));
  bn4_ = register_module("bn4", segdistill::BatchNorm2d(c(1536)));
  conv5_ = register_module("conv5", SeparableConv(c(1536), c(2048), 1, exit_dilations[1]));
  bn5_ = register_module("bn5", segdistill::BatchNorm2d(c(2048)));
  specs_ = {{"low_level", c(128), 4}, {"out", c(2048), options.output_stride}};
  he_normal_init(*this, Fan::kOut);  // the published Xception: normal(0, sqrt(2 / (k * k * out)))
  if (options.frozen_bn) freeze_batch_norms(*this);
}

FeatureMap Xception::forward(const at::Tensor& images) {
  torch::Tensor x = torch::relu(bn1_(conv1_(images)));
  x = torch::relu(bn2_(conv2_(x)));
  const torch::Tensor low_level = torch::relu(blocks_[0]->forward(x));
  x = low_level;
  for (std::size_t i = 1; i < blocks_.size(); ++i) x = blocks_[i]->forward(x);
  x = torch::relu(x);
  x = torch::relu(bn3_(conv3_(x)));
  x = torch::relu(bn4_(conv4_(x)));
  x = torch::relu(bn5_(conv5_(x)));
  return {{"low_level", low_level}, {"out", x}};
}

std::vector<FeatureSpec> Xception::output_specs() const { return specs_; }

void Xception::train(bool on) {
  Backbone::train(on);
  if (options_.frozen_bn) freeze_batch_norms(*this);
}

}  // namespace segdistill::backbones_plugin
