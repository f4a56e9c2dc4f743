#include "deeplabv3plus.hpp"

#include "feature_lookup.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/modeling/init.hpp"
#include "segdistill/modeling/resize.hpp"

namespace segdistill::heads_plugin {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {
nn::Conv2d make_conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t dilation = 1, bool bias = false) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).padding(kernel == 3 ? dilation : 0).dilation(dilation).bias(bias));
}

// In `like`'s size and memory format (the image-pooling branch's 1 x 1 map would
// otherwise come out NCHW and turn the concatenation, the projection and the decoder NCHW).
torch::Tensor resize_to(const torch::Tensor& x, const torch::Tensor& like) {
  return resize_bilinear(x, like.size(2), like.size(3), like.suggest_memory_format());
}

}  // namespace

AsppBranch::AsppBranch(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t dilation) {
  atrous_conv = register_module("atrous_conv", make_conv(in, out, kernel, dilation));
  bn = register_module("bn", segdistill::BatchNorm2d(out));
}

torch::Tensor AsppBranch::forward(const torch::Tensor& x) { return torch::relu(bn(atrous_conv(x))); }

Aspp::Aspp(std::int64_t in, std::int64_t channels, const std::vector<std::int64_t>& dilations, double dropout_rate) {
  for (std::size_t i = 0; i < dilations.size(); ++i)
    branches_.push_back(register_module("aspp" + std::to_string(i + 1),
                                        std::make_shared<AsppBranch>(in, channels, i == 0 ? 1 : 3, dilations[i])));
  // global_avg_pool.{1,2}: the image-pooling branch's conv and BN (0 is the pooling, 3 the ReLU).
  auto pool = register_module("global_avg_pool", std::make_shared<nn::Module>());
  pool_conv = pool->register_module("1", make_conv(in, channels, 1));
  pool_bn = pool->register_module("2", segdistill::BatchNorm2d(channels));
  conv1 = register_module("conv1", make_conv(channels * static_cast<std::int64_t>(dilations.size() + 1), channels, 1));
  bn1 = register_module("bn1", segdistill::BatchNorm2d(channels));
  dropout = register_module("dropout", segdistill::Dropout(dropout_rate));
  he_normal_init(*this, Fan::kIn);
}

torch::Tensor Aspp::forward(const torch::Tensor& x, torch::Tensor& fused) {
  std::vector<torch::Tensor> outputs;
  outputs.reserve(branches_.size() + 1);
  for (auto& branch : branches_) outputs.push_back(branch->forward(x));
  torch::Tensor pooled = torch::relu(pool_bn(pool_conv(F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)))));
  outputs.push_back(resize_to(pooled, outputs.front()));
  fused = bn1(conv1(torch::cat(outputs, 1)));
  return dropout(torch::relu(fused));
}

Decoder::Decoder(std::int64_t low_level_in, std::int64_t low_level_channels, std::int64_t aspp_channels, std::int64_t channels,
                 std::int64_t num_classes, const std::vector<double>& dropout) {
  conv1 = register_module("conv1", make_conv(low_level_in, low_level_channels, 1));
  bn1 = register_module("bn1", segdistill::BatchNorm2d(low_level_channels));
  auto last = register_module("last_conv", std::make_shared<nn::Module>());
  conv_a = last->register_module("0", make_conv(aspp_channels + low_level_channels, channels, 3));
  bn_a = last->register_module("1", segdistill::BatchNorm2d(channels));
  dropout_a = last->register_module("3", segdistill::Dropout(dropout.at(0)));
  conv_b = last->register_module("4", make_conv(channels, channels, 3));
  bn_b = last->register_module("5", segdistill::BatchNorm2d(channels));
  dropout_b = last->register_module("7", segdistill::Dropout(dropout.at(1)));
  classifier = last->register_module("8", make_conv(channels, num_classes, 1, 1, /*bias=*/true));
  he_normal_init(*this, Fan::kIn);  // the classifier bias keeps the default, as published
}

torch::Tensor Decoder::forward(const torch::Tensor& aspp_out, const torch::Tensor& low_level, torch::Tensor& decoder_feature) {
  const torch::Tensor low = torch::relu(bn1(conv1(low_level)));
  torch::Tensor x = torch::cat({resize_to(aspp_out, low), low}, 1);
  x = dropout_a(torch::relu(bn_a(conv_a(x))));
  decoder_feature = bn_b(conv_b(x));
  return classifier(dropout_b(torch::relu(decoder_feature)));
}

DeepLabV3PlusHead::DeepLabV3PlusHead(const DeepLabV3PlusOptions& options, const HeadContext& context) {
  const FeatureSpec& high = require_feature(context.backbone_outputs, "out", "deeplabv3plus");
  const FeatureSpec& low = require_feature(context.backbone_outputs, "low_level", "deeplabv3plus");
  std::vector<std::int64_t> dilations;
  if (options.dilations) {
    dilations = *options.dilations;
  } else if (high.stride == 16) {
    dilations = {1, 6, 12, 18};
  } else if (high.stride == 8) {
    dilations = {1, 12, 24, 36};
  } else {
    throw Error("head 'deeplabv3plus': no published ASPP dilations for backbone output stride " + std::to_string(high.stride) +
                " (8 or 16); set model.head.dilations");
  }
  if (options.decoder_dropout.size() != 2)
    throw Error("model.head.decoder_dropout: expected 2 values (after each 3x3 convolution), got " +
                std::to_string(options.decoder_dropout.size()));
  aspp = register_module("aspp", std::make_shared<Aspp>(high.channels, options.aspp_channels, dilations, options.aspp_dropout));
  decoder = register_module("decoder",
                            std::make_shared<Decoder>(low.channels, options.low_level_channels, options.aspp_channels,
                                                      options.decoder_channels, context.num_classes, options.decoder_dropout));
  exposed_ = {{"aspp", options.aspp_channels, high.stride},
              {"aspp_pre_relu", options.aspp_channels, high.stride},
              {"decoder", options.decoder_channels, low.stride}};
}

at::Tensor DeepLabV3PlusHead::forward(const FeatureMap& backbone_features, FeatureMap& exposed) {
  torch::Tensor aspp_fused;
  torch::Tensor aspp_out = aspp->forward(backbone_features.at("out"), aspp_fused);
  torch::Tensor decoder_feature;
  torch::Tensor logits = decoder->forward(aspp_out, backbone_features.at("low_level"), decoder_feature);
  exposed["aspp"] = aspp_out;
  exposed["aspp_pre_relu"] = aspp_fused;
  exposed["decoder"] = decoder_feature;
  return logits;
}

std::vector<FeatureSpec> DeepLabV3PlusHead::exposed_specs() const { return exposed_; }

}  // namespace segdistill::heads_plugin
