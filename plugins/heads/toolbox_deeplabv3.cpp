#include "toolbox_deeplabv3.hpp"

#include "feature_lookup.hpp"
#include "segdistill/core/error.hpp"

namespace segdistill::heads_plugin {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

ToolboxDeepLabV3Head::ToolboxDeepLabV3Head(const ToolboxDeepLabV3Options& options, const HeadContext& context) {
  const FeatureSpec& high = require_feature(context.backbone_outputs, "out", "cirkd_deeplabv3");
  if (options.rates.size() != 3)
    throw Error("model.head.rates: expected 3 dilations (the 3x3 ASPP branches), got " + std::to_string(options.rates.size()));
  const std::int64_t c = options.channels;
  auto head = register_module("head", std::make_shared<nn::Module>());
  auto aspp = head->register_module("aspp", std::make_shared<nn::Module>());
  branches_.emplace_back(*aspp->register_module("b0", std::make_shared<nn::Module>()), 0, high.channels, c, 1);
  for (std::size_t i = 0; i < 3; ++i) {
    auto branch = aspp->register_module("b" + std::to_string(i + 1), std::make_shared<nn::Module>());
    branches_.emplace_back(*branch->register_module("block", std::make_shared<nn::Module>()), 0, high.channels, c, 3,
                           options.rates[i]);
  }
  // b4.gap: 0 the pooling, 1 conv, 2 BN, 3 ReLU.
  auto b4 = aspp->register_module("b4", std::make_shared<nn::Module>());
  pool_ = ToolboxConvBn(*b4->register_module("gap", std::make_shared<nn::Module>()), 1, high.channels, c, 1);
  auto project = aspp->register_module("project", std::make_shared<nn::Module>());
  project_ = ToolboxConvBn(*project, 0, 5 * c, c, 1);
  project_dropout_ = project->register_module("3", segdistill::Dropout(0.5));
  auto block = head->register_module("block", std::make_shared<nn::Module>());
  block_ = ToolboxConvBn(*block, 0, c, c, 3);
  block_dropout_ = block->register_module("3", segdistill::Dropout(0.1));
  classifier_ = block->register_module("4", nn::Conv2d(nn::Conv2dOptions(c, context.num_classes, 1)));
  exposed_ = {{"feature", c, high.stride}, {"logits", context.num_classes, high.stride}};
  aux_ = add_aux_head(*this, options.aux, options.aux_from, context, "cirkd_deeplabv3", exposed_);
}

at::Tensor ToolboxDeepLabV3Head::forward(const FeatureMap& backbone_features, FeatureMap& exposed) {
  const torch::Tensor& x = backbone_features.at("out");
  std::vector<torch::Tensor> outputs;
  outputs.reserve(5);
  for (auto& branch : branches_) outputs.push_back(branch.forward(x));
  const torch::Tensor pooled = pool_.forward(F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)));
  outputs.push_back(toolbox_resize(pooled, outputs.front()));
  const torch::Tensor projected = project_dropout_(project_.forward(torch::cat(outputs, 1)));
  const torch::Tensor feature = block_dropout_(block_.forward(projected));
  return expose_toolbox_outputs(feature, classifier_(feature), aux_.get(), backbone_features, exposed);
}

}  // namespace segdistill::heads_plugin
