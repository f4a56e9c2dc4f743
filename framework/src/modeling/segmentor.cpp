#include "segdistill/modeling/segmentor.hpp"

#include <torch/torch.h>

#include "segdistill/config/config.hpp"
#include "segdistill/config/sections.hpp"
#include "segdistill/core/closest_match.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/modeling/batch_norm.hpp"
#include "segdistill/plugin/registries.hpp"

namespace segdistill {

Segmentor::Segmentor(const ConfigTable& model)
    : Segmentor(model.table("backbone"), model.table("head"), parse_options<ModelSection>(model).num_classes,
                parse_options<ModelSection>(model).backbone_key) {
  frozen_bn_ = parse_options<ModelSection>(model).frozen_bn;
  if (frozen_bn_) freeze_batch_norms(*this);
}

void Segmentor::train(bool on) {
  torch::nn::Module::train(on);
  if (!backbone_held_) backbone_->train(on);  // its own mode and any override of train()
  if (frozen_bn_) freeze_batch_norms(*this);
}

Segmentor::Segmentor(const ConfigTable& backbone, const ConfigTable& head, std::int64_t num_classes,
                     const std::string& backbone_key) {
  num_classes_ = num_classes;
  if (backbone.contains("pretrained")) backbone.string("pretrained");  // a file name, checked before anything is built
  backbone_ = backbones().create(backbone);
  backbone_held_ = !backbone_key.empty();
  // Two parts under one state-dict name would overwrite each other's tensors.
  const auto add_part = [&](const std::string& name, const std::shared_ptr<torch::nn::Module>& part) {
    if (named_children().contains(name))
      throw Error("model: two parts of the network are both named '" + name + "' in the state dict (backbone_key '" +
                  backbone_key + "', backbone '" + backbone.string("type") + "', head '" + head.string("type") + "')");
    register_module(name, part);
  };
  if (backbone_held_) {
    add_part(backbone_key, backbone_);
  } else {
    for (const auto& child : backbone_->named_children()) add_part(child.key(), child.value());
  }
  HeadContext context{backbone_->output_specs(), num_classes_};
  head_ = heads().create(head, context);
  // The head's parts join at the top level (aspp.*, decoder.*), as in the reference.
  for (const auto& child : head_->named_children()) add_part(child.key(), child.value());

  for (const auto& spec : backbone_->output_specs())
    feature_specs_.push_back({"backbone." + spec.name, spec.channels, spec.stride});
  for (const auto& spec : head_->exposed_specs()) feature_specs_.push_back({"head." + spec.name, spec.channels, spec.stride});
  feature_specs_.push_back({"logits", num_classes_, 1});
}

SegmentorOutput Segmentor::forward(const at::Tensor& images) {
  SegmentorOutput out;
  FeatureMap backbone_features = backbone_->forward(images);
  FeatureMap exposed;
  // Upsampled in float32: the loss needs float32 logits anyway, and LibTorch 1.13's bilinear
  // resize of bfloat16 is 4-5x slower than of float32 both ways (about 0.3 s of a bf16 VOC step).
  torch::Tensor logits = head_->forward(backbone_features, exposed).to(at::kFloat);
  out.logits = torch::nn::functional::interpolate(logits, torch::nn::functional::InterpolateFuncOptions()
                                                              .size(std::vector<std::int64_t>{images.size(2), images.size(3)})
                                                              .mode(torch::kBilinear)
                                                              .align_corners(true));
  for (auto& [name, tensor] : backbone_features) out.features.emplace("backbone." + name, std::move(tensor));
  for (auto& [name, tensor] : exposed) out.features.emplace("head." + name, std::move(tensor));
  out.features.emplace("logits", out.logits);
  return out;
}

std::shared_ptr<Segmentor> build_network(const Config& config, const std::string& section) {
  const std::string where = config.path().empty() ? "config" : config.path();
  if (!config.root().contains(section)) throw Error(where + ": no [" + section + "] table to build the network from");
  if (section == "model") return std::make_shared<Segmentor>(config.root().table("model"));
  if (section != "teacher") throw Error("unknown network section '" + section + "'; valid: model, teacher");
  const TeacherSection teacher = parse_options<TeacherSection>(config.root().table("teacher"));
  std::int64_t classes = teacher.num_classes;
  if (classes == 0) {
    if (!config.root().contains("model"))
      throw Error(where + ": teacher.num_classes is not set and there is no [model] to take it from");
    classes = parse_options<ModelSection>(config.root().table("model")).num_classes;
  }
  return std::make_shared<Segmentor>(teacher.backbone, teacher.head, classes, teacher.backbone_key);
}

const FeatureSpec& Segmentor::feature_spec(const std::string& name, const std::string& config_key) const {
  std::vector<std::string> names;
  for (const auto& spec : feature_specs_) {
    if (spec.name == name) return spec;
    names.push_back(spec.name);
  }
  UnknownName(config_key + ": the network has no feature", name, names)
      .listed_as("available features")
      .order(ChoiceOrder::kAsGiven)
      .raise();
}

}  // namespace segdistill
