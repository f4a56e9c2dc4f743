#include "toolbox_segformer.hpp"

#include <cmath>

#include "feature_lookup.hpp"
#include "toolbox_blocks.hpp"

namespace segdistill::heads_plugin {

namespace nn = torch::nn;

ToolboxSegFormerHead::ToolboxSegFormerHead(const ToolboxSegFormerOptions& options, const HeadContext& context) {
  const std::int64_t c = options.channels;
  std::int64_t stride = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const FeatureSpec& level = require_feature(context.backbone_outputs, "layer" + std::to_string(i + 1), "cirkd_segformer");
    if (i == 0) stride = level.stride;
    projections_[i] = register_module("linear_c" + std::to_string(i + 1), std::make_shared<nn::Module>())
                          ->register_module("proj", nn::Linear(level.channels, c));
    torch::NoGradGuard no_grad;  // the SegFormer initialisation (see the MiT encoder)
    projections_[i]->weight.normal_(0.0, 0.02).clamp_(-2.0, 2.0);
    projections_[i]->bias.zero_();
  }
  auto fuse = register_module("linear_fuse", std::make_shared<nn::Module>());
  fuse_ = fuse->register_module("0", nn::Conv2d(nn::Conv2dOptions(4 * c, c, 1)));
  fuse_bn_ = fuse->register_module("1", segdistill::BatchNorm2d(c));
  classifier_ = register_module("linear_pred", nn::Conv2d(nn::Conv2dOptions(c, context.num_classes, 1)));
  {
    torch::NoGradGuard no_grad;
    fuse_->weight.normal_(0.0, std::sqrt(2.0 / static_cast<double>(c)));
    fuse_->bias.zero_();
    classifier_->weight.normal_(0.0, std::sqrt(2.0 / static_cast<double>(context.num_classes)));
    classifier_->bias.zero_();
  }
  exposed_ = {{"feature", c, stride}, {"logits", context.num_classes, stride}};
}

at::Tensor ToolboxSegFormerHead::forward(const FeatureMap& backbone_features, FeatureMap& exposed) {
  const torch::Tensor& c1 = backbone_features.at("layer1");
  std::vector<torch::Tensor> levels;
  for (int i = 3; i >= 0; --i) {  // the toolbox's order: c4, c3, c2, c1
    const torch::Tensor& x = backbone_features.at("layer" + std::to_string(i + 1));
    const torch::Tensor tokens = projections_[static_cast<std::size_t>(i)](x.flatten(2).transpose(1, 2));
    const torch::Tensor map = tokens.transpose(1, 2).reshape({x.size(0), tokens.size(2), x.size(2), x.size(3)});
    levels.push_back(resize_half_pixel(map, c1.size(2), c1.size(3)));
  }
  const torch::Tensor feature = torch::relu(fuse_bn_(fuse_(torch::cat(levels, 1))));
  // The toolbox's Dropout2d(0) between the fusion and the classifier does nothing.
  return expose_toolbox_outputs(feature, classifier_(feature), nullptr, backbone_features, exposed);
}

}  // namespace segdistill::heads_plugin
