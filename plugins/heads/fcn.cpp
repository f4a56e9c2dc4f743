#include "fcn.hpp"

#include "feature_lookup.hpp"
#include "segdistill/modeling/init.hpp"

namespace segdistill::heads_plugin {

namespace nn = torch::nn;

FcnHead::FcnHead(const FcnOptions& options, const HeadContext& context) {
  const FeatureSpec& out = require_feature(context.backbone_outputs, "out", "fcn");
  auto fcn = register_module("fcn", std::make_shared<nn::Module>());
  conv = fcn->register_module("conv", nn::Conv2d(nn::Conv2dOptions(out.channels, options.channels, 3).padding(1).bias(false)));
  bn = fcn->register_module("bn", segdistill::BatchNorm2d(options.channels));
  dropout = fcn->register_module("dropout", segdistill::Dropout(options.dropout));
  classifier = fcn->register_module("classifier", nn::Conv2d(nn::Conv2dOptions(options.channels, context.num_classes, 1)));
  he_normal_init(*this, Fan::kIn);  // as the DeepLabV3+ head
  exposed_ = {{"fcn", options.channels, out.stride}};
}

at::Tensor FcnHead::forward(const FeatureMap& backbone_features, FeatureMap& exposed) {
  torch::Tensor feature = torch::relu(bn(conv(backbone_features.at("out"))));
  exposed["fcn"] = feature;
  return classifier(dropout(feature));
}

std::vector<FeatureSpec> FcnHead::exposed_specs() const { return exposed_; }

}  // namespace segdistill::heads_plugin
