#pragma once
// DeepLabV3+ head of the reference: ASPP (`aspp.*`) and decoder (`decoder.*`).
#include <optional>
#include <vector>

#include <torch/torch.h>

#include "segdistill/config/schema.hpp"
#include "segdistill/modeling/batch_norm.hpp"
#include "segdistill/modeling/dropout.hpp"
#include "segdistill/modeling/head.hpp"

namespace segdistill::heads_plugin {

struct DeepLabV3PlusOptions {
  std::int64_t aspp_channels;
  std::int64_t low_level_channels;
  std::int64_t decoder_channels;
  std::optional<std::vector<std::int64_t>> dilations;
  double aspp_dropout;
  std::vector<double> decoder_dropout;
  static void declare(Schema<DeepLabV3PlusOptions>& s) {
    s.field("aspp_channels", &DeepLabV3PlusOptions::aspp_channels, "channels of each ASPP branch and of its output")
        .default_value(256)
        .at_least(1);
    s.field("low_level_channels", &DeepLabV3PlusOptions::low_level_channels, "channels the low-level feature is reduced to")
        .default_value(48)
        .at_least(1);
    s.field("decoder_channels", &DeepLabV3PlusOptions::decoder_channels, "channels of the decoder's 3x3 convolutions")
        .default_value(256)
        .at_least(1);
    s.field("dilations", &DeepLabV3PlusOptions::dilations,
            "ASPP dilations, the first for the 1x1 branch (default 1,6,12,18 at output stride 16 and 1,12,24,36 at 8)")
        .at_least(1);
    s.field("aspp_dropout", &DeepLabV3PlusOptions::aspp_dropout, "dropout after the ASPP projection")
        .default_value(0.5)
        .range(0, 1);
    s.field("decoder_dropout", &DeepLabV3PlusOptions::decoder_dropout, "dropout after the decoder's two 3x3 convolutions")
        .default_value(std::vector<double>{0.5, 0.1})
        .range(0, 1);
  }
};

class AsppBranch : public torch::nn::Module {
 public:
  AsppBranch(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t dilation);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d atrous_conv{nullptr};
  segdistill::BatchNorm2d bn{nullptr};
};

class Aspp : public torch::nn::Module {
 public:
  Aspp(std::int64_t in, std::int64_t channels, const std::vector<std::int64_t>& dilations, double dropout);
  // The ASPP output; `fused` receives the fusion convolution's BatchNorm output before
  // its ReLU (the published extract_feature's ASPP feature).
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor& fused);

 private:
  std::vector<std::shared_ptr<AsppBranch>> branches_;
  torch::nn::Conv2d pool_conv{nullptr};
  segdistill::BatchNorm2d pool_bn{nullptr};
  torch::nn::Conv2d conv1{nullptr};
  segdistill::BatchNorm2d bn1{nullptr};
  segdistill::Dropout dropout{nullptr};
};

class Decoder : public torch::nn::Module {
 public:
  Decoder(std::int64_t low_level_in, std::int64_t low_level_channels, std::int64_t aspp_channels, std::int64_t channels,
          std::int64_t num_classes, const std::vector<double>& dropout);
  // Logits at the low-level feature's resolution; `decoder_feature` receives the TaT
  // feature (after the second 3x3 convolution's BatchNorm, before its ReLU).
  torch::Tensor forward(const torch::Tensor& aspp_out, const torch::Tensor& low_level, torch::Tensor& decoder_feature);

 private:
  torch::nn::Conv2d conv1{nullptr};
  segdistill::BatchNorm2d bn1{nullptr};
  // last_conv.{0..8}: conv, BN, ReLU, dropout, conv, BN, ReLU, dropout, classifier.
  torch::nn::Conv2d conv_a{nullptr}, conv_b{nullptr}, classifier{nullptr};
  segdistill::BatchNorm2d bn_a{nullptr}, bn_b{nullptr};
  segdistill::Dropout dropout_a{nullptr}, dropout_b{nullptr};
};

class DeepLabV3PlusHead : public Head {
 public:
  DeepLabV3PlusHead(const DeepLabV3PlusOptions& options, const HeadContext& context);
  at::Tensor forward(const FeatureMap& backbone_features, FeatureMap& exposed) override;
  std::vector<FeatureSpec> exposed_specs() const override;

 private:
  std::vector<FeatureSpec> exposed_;
  std::shared_ptr<Aspp> aspp;
  std::shared_ptr<Decoder> decoder;
};

}  // namespace segdistill::heads_plugin
