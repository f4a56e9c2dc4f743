#include "toolbox_upernet.hpp"

#include "feature_lookup.hpp"

namespace segdistill::heads_plugin {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {
constexpr std::int64_t kPoolSizes[] = {1, 2, 3, 6};

std::shared_ptr<nn::Module> child(nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<nn::Module>());
}
}  // namespace

ToolboxUperNetHead::ToolboxUperNetHead(const ToolboxUperNetOptions& options, const HeadContext& context) {
  std::vector<const FeatureSpec*> levels;
  for (const char* name : {"layer1", "layer2", "layer3", "layer4"})
    levels.push_back(&require_feature(context.backbone_outputs, name, "cirkd_upernet"));
  const std::int64_t fpn = options.fpn_channels, c4 = levels[3]->channels;
  auto head = register_module("head", std::make_shared<nn::Module>());
  auto ppm = child(*head, "ppm_conv");
  for (int i = 0; i < 4; ++i) pool_convs_.emplace_back(*child(*ppm, std::to_string(i)), 0, c4, options.pool_channels, 1);
  pool_fuse_ = ToolboxConvBn(*child(*head, "ppm_last_conv"), 0, c4 + 4 * options.pool_channels, fpn, 3);
  auto fpn_in = child(*head, "fpn_in");
  auto fpn_out = child(*head, "fpn_out");
  for (int i = 0; i < 3; ++i) {
    laterals_.emplace_back(*child(*fpn_in, std::to_string(i)), 0, levels[static_cast<std::size_t>(i)]->channels, fpn, 1);
    outputs_.emplace_back(*child(*child(*fpn_out, std::to_string(i)), "0"), 0, fpn, fpn, 3);
  }
  auto conv_last = child(*head, "conv_last");
  fuse_ = ToolboxConvBn(*child(*conv_last, "0"), 0, 4 * fpn, fpn, 3, 1, 2);
  classifier_ = conv_last->register_module("1", nn::Conv2d(nn::Conv2dOptions(fpn, context.num_classes, 1)));
  const std::int64_t stride = levels[0]->stride * 2;
  exposed_ = {{"feature", fpn, stride}, {"logits", context.num_classes, stride}};
  aux_ = add_aux_head(*this, options.aux, options.aux_from, context, "cirkd_upernet", exposed_);
}

at::Tensor ToolboxUperNetHead::forward(const FeatureMap& backbone_features, FeatureMap& exposed) {
  const torch::Tensor& c4 = backbone_features.at("layer4");
  std::vector<torch::Tensor> pooled{c4};
  for (std::size_t i = 0; i < 4; ++i) {
    const torch::Tensor p = F::adaptive_avg_pool2d(c4, F::AdaptiveAvgPool2dFuncOptions(kPoolSizes[i]));
    pooled.push_back(pool_convs_[i].forward(resize_half_pixel(p, c4.size(2), c4.size(3))));
  }
  torch::Tensor top = pool_fuse_.forward(torch::cat(pooled, 1));
  // Top-down: level 3, 2, 1 (c3, c2, c1), each the lateral plus the level above resized.
  std::vector<torch::Tensor> pyramid(4);
  pyramid[3] = top;
  for (int i = 2; i >= 0; --i) {
    const torch::Tensor lateral =
        laterals_[static_cast<std::size_t>(i)].forward(backbone_features.at("layer" + std::to_string(i + 1)));
    top = lateral + resize_half_pixel(top, lateral.size(2), lateral.size(3));
    pyramid[static_cast<std::size_t>(i)] = outputs_[static_cast<std::size_t>(i)].forward(top);
  }
  const std::int64_t h = pyramid[0].size(2), w = pyramid[0].size(3);
  for (auto& level : pyramid) level = resize_half_pixel(level, h, w);
  const torch::Tensor feature = fuse_.forward(torch::cat(pyramid, 1));
  return expose_toolbox_outputs(feature, classifier_(feature), aux_.get(), backbone_features, exposed);
}

}  // namespace segdistill::heads_plugin
