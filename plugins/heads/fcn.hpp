#pragma once
// A plain convolutional head: 3x3 conv, BN, ReLU, dropout, 1x1 classifier, on the
// backbone's output alone. The simple alternative to DeepLabV3+.
#include <torch/torch.h>

#include "segdistill/config/schema.hpp"
#include "segdistill/modeling/batch_norm.hpp"
#include "segdistill/modeling/dropout.hpp"
#include "segdistill/modeling/head.hpp"

namespace segdistill::heads_plugin {

struct FcnOptions {
  std::int64_t channels;
  double dropout;
  static void declare(Schema<FcnOptions>& s) {
    s.field("channels", &FcnOptions::channels, "channels of the 3x3 convolution").default_value(256).at_least(1);
    s.field("dropout", &FcnOptions::dropout, "dropout before the classifier").default_value(0.1).range(0, 1);
  }
};

class FcnHead : public Head {
 public:
  FcnHead(const FcnOptions& options, const HeadContext& context);
  at::Tensor forward(const FeatureMap& backbone_features, FeatureMap& exposed) override;
  std::vector<FeatureSpec> exposed_specs() const override;

 private:
  std::vector<FeatureSpec> exposed_;
  torch::nn::Conv2d conv{nullptr}, classifier{nullptr};
  segdistill::BatchNorm2d bn{nullptr};
  segdistill::Dropout dropout{nullptr};
};

}  // namespace segdistill::heads_plugin
