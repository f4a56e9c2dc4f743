#include "toolbox_blocks.hpp"

#include "feature_lookup.hpp"
#include "segdistill/modeling/resize.hpp"

namespace segdistill::heads_plugin {

namespace nn = torch::nn;

ToolboxConvBn::ToolboxConvBn(nn::Module& parent, int conv_index, std::int64_t in, std::int64_t out, std::int64_t kernel,
                             std::int64_t dilation, std::int64_t stride) {
  const std::int64_t padding = kernel == 3 ? dilation : 0;
  conv_ = parent.register_module(
      std::to_string(conv_index),
      nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).dilation(dilation).bias(false)));
  bn_ = parent.register_module(std::to_string(conv_index + 1), segdistill::BatchNorm2d(out));
}

torch::Tensor ToolboxConvBn::forward(const torch::Tensor& x) { return torch::relu(bn_->forward(conv_->forward(x))); }

ToolboxAuxHead::ToolboxAuxHead(std::string source, std::int64_t in, std::int64_t num_classes) : source_(std::move(source)) {
  auto block = register_module("block", std::make_shared<nn::Module>());
  conv_bn_ = ToolboxConvBn(*block, 0, in, in / 4, 3);
  dropout_ = block->register_module("3", segdistill::Dropout(0.1));
  classifier_ = block->register_module("4", nn::Conv2d(nn::Conv2dOptions(in / 4, num_classes, 1)));
}

torch::Tensor ToolboxAuxHead::forward(const FeatureMap& backbone_features) {
  return classifier_(dropout_(conv_bn_.forward(backbone_features.at(source_))));
}

std::shared_ptr<ToolboxAuxHead> add_aux_head(Head& head, bool aux, const std::string& aux_from, const HeadContext& context,
                                             const std::string& type, std::vector<FeatureSpec>& exposed) {
  if (!aux) return nullptr;
  const FeatureSpec& c3 = require_feature(context.backbone_outputs, aux_from, type + " (aux_from)");
  exposed.push_back({"aux_logits", context.num_classes, c3.stride});
  return head.register_module("auxlayer", std::make_shared<ToolboxAuxHead>(aux_from, c3.channels, context.num_classes));
}

at::Tensor expose_toolbox_outputs(const at::Tensor& feature, const at::Tensor& logits, ToolboxAuxHead* aux,
                                  const FeatureMap& backbone_features, FeatureMap& exposed) {
  exposed["feature"] = feature;
  exposed["logits"] = logits;
  if (aux) exposed["aux_logits"] = aux->forward(backbone_features);
  return logits;
}

torch::Tensor toolbox_resize(const torch::Tensor& x, const torch::Tensor& like) {
  return resize_bilinear(x, like.size(2), like.size(3), like.suggest_memory_format());
}

torch::Tensor resize_half_pixel(const torch::Tensor& x, std::int64_t height, std::int64_t width) {
  if (x.size(2) == height && x.size(3) == width) return x;
  namespace F = torch::nn::functional;
  return F::interpolate(
      x, F::InterpolateFuncOptions().size(std::vector<std::int64_t>{height, width}).mode(torch::kBilinear).align_corners(false));
}

}  // namespace segdistill::heads_plugin
