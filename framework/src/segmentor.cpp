#include "segdistill/segmentor.hpp"

#include <torch/torch.h>

#include "segdistill/closest_match.hpp"
#include "segdistill/config_sections.hpp"
#include "segdistill/error.hpp"
#include "segdistill/registries.hpp"

namespace segdistill {

namespace {
// [model] and [teacher] share the network keys; the teacher's other keys are not ours.
struct NetworkKeys {
  std::int64_t num_classes;
  ConfigTable backbone;
  ConfigTable head;
  static void declare(Schema<NetworkKeys>& s) {
    s.field("num_classes", &NetworkKeys::num_classes, "classes the network predicts").required().at_least(1);
    s.field("backbone", &NetworkKeys::backbone, "backbone: {type = NAME, ...}").required().component("backbones");
    s.field("head", &NetworkKeys::head, "head: {type = NAME, ...}").required().component("heads");
  }
};
}  // namespace

Segmentor::Segmentor(const ConfigTable& model) {
  const auto keys = parse_options<NetworkKeys>(model, {"checkpoint", "mode"});
  num_classes_ = keys.num_classes;
  backbone_ = register_module("backbone", backbones().create(keys.backbone));
  HeadContext context{backbone_->output_specs(), num_classes_};
  head_ = heads().create(keys.head, context);
  // The head's parts join at the top level (aspp.*, decoder.*), as in the reference.
  for (const auto& child : head_->named_children()) register_module(child.key(), child.value());

  for (const auto& spec : backbone_->output_specs()) feature_specs_.push_back({"backbone." + spec.name, spec.channels, spec.stride});
  for (const auto& spec : head_->exposed_specs()) feature_specs_.push_back({"head." + spec.name, spec.channels, spec.stride});
  feature_specs_.push_back({"logits", num_classes_, 1});
}

SegmentorOutput Segmentor::forward(const at::Tensor& images) {
  SegmentorOutput out;
  FeatureMap backbone_features = backbone_->forward(images);
  FeatureMap exposed;
  torch::Tensor logits = head_->forward(backbone_features, exposed);
  out.logits = torch::nn::functional::interpolate(
      logits, torch::nn::functional::InterpolateFuncOptions()
                  .size(std::vector<std::int64_t>{images.size(2), images.size(3)})
                  .mode(torch::kBilinear)
                  .align_corners(true));
  for (auto& [name, tensor] : backbone_features) out.features.emplace("backbone." + name, std::move(tensor));
  for (auto& [name, tensor] : exposed) out.features.emplace("head." + name, std::move(tensor));
  out.features.emplace("logits", out.logits);
  return out;
}

const FeatureSpec& Segmentor::feature_spec(const std::string& name, const std::string& config_key) const {
  std::vector<std::string> names;
  for (const auto& spec : feature_specs_) {
    if (spec.name == name) return spec;
    names.push_back(spec.name);
  }
  std::string message = config_key + ": the network has no feature '" + name + "'";
  if (auto best = closest_match(name, names)) message += " (did you mean '" + *best + "'?)";
  throw Error(message + "; available features: " + join(names, ", "));
}

}  // namespace segdistill
