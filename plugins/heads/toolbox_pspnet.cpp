#include "toolbox_pspnet.hpp"

#include "feature_lookup.hpp"

namespace segdistill::heads_plugin {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {
constexpr std::int64_t kPyramid[] = {1, 2, 3, 6};
}

ToolboxPspHead::ToolboxPspHead(const ToolboxPspOptions& options, const HeadContext& context) {
  const FeatureSpec& high = require_feature(context.backbone_outputs, "out", "cirkd_psp");
  auto head = register_module("head", std::make_shared<nn::Module>());
  auto psp = head->register_module("psp", std::make_shared<nn::Module>());
  for (std::size_t i = 0; i < 4; ++i)
    pyramid_.emplace_back(*psp->register_module("conv" + std::to_string(i + 1), std::make_shared<nn::Module>()), 0, high.channels,
                          high.channels / 4, 1);
  auto block = head->register_module("block", std::make_shared<nn::Module>());
  block_ = ToolboxConvBn(*block, 0, high.channels + 4 * (high.channels / 4), options.channels, 3);
  block_dropout_ = block->register_module("3", segdistill::Dropout(0.1));
  classifier_ = head->register_module("classifier", nn::Conv2d(nn::Conv2dOptions(options.channels, context.num_classes, 1)));
  exposed_ = {{"feature", options.channels, high.stride}, {"logits", context.num_classes, high.stride}};
  aux_ = add_aux_head(*this, options.aux, options.aux_from, context, "cirkd_psp", exposed_);
}

at::Tensor ToolboxPspHead::forward(const FeatureMap& backbone_features, FeatureMap& exposed) {
  const torch::Tensor& x = backbone_features.at("out");
  std::vector<torch::Tensor> parts{x};
  parts.reserve(5);
  for (std::size_t i = 0; i < 4; ++i) {
    const torch::Tensor pooled = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(kPyramid[i]));
    parts.push_back(toolbox_resize(pyramid_[i].forward(pooled), x));
  }
  const torch::Tensor feature = block_dropout_(block_.forward(torch::cat(parts, 1)));
  return expose_toolbox_outputs(feature, classifier_(feature), aux_.get(), backbone_features, exposed);
}

}  // namespace segdistill::heads_plugin
