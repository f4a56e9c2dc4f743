// The one place where the registries live: every DSO that asks for one gets these.
#include "segdistill/plugin/registries.hpp"

namespace segdistill {

BackboneRegistry& backbones() {
  // `pretrained` (ImageNet weights) is loaded by the framework for every backbone.
  static BackboneRegistry registry("backbones", "backbone", {"type", "pretrained"});
  return registry;
}
HeadRegistry& heads() {
  static HeadRegistry registry("heads", "head");
  return registry;
}
DatasetRegistry& datasets() {
  static DatasetRegistry registry("datasets", "dataset", {"type", "pipeline", "on_bad_sample"});
  return registry;
}
TransformRegistry& transforms() {
  static TransformRegistry registry("transforms", "transform");
  return registry;
}
DistillerRegistry& distillers() {
  static DistillerRegistry registry;
  return registry;
}
LossRegistry& losses() {
  static LossRegistry registry("losses", "loss");
  return registry;
}
LrScheduleRegistry& lr_schedules() {
  static LrScheduleRegistry registry("lr_schedules", "LR schedule");
  return registry;
}
HookRegistry& hooks() {
  // `priority` places a hook among the others (engine/hook.hpp); the trainer reads it.
  static HookRegistry registry("hooks", "hook", {"type", "priority"});
  return registry;
}

const std::vector<RegistryBase*>& all_registries() {
  static const std::vector<RegistryBase*> registries{&backbones(),  &heads(),  &datasets(),     &transforms(),
                                                     &distillers(), &losses(), &lr_schedules(), &hooks()};
  return registries;
}

RegistryBase* find_registry(const std::string& kind) {
  for (RegistryBase* registry : all_registries())
    if (registry->kind() == kind) return registry;
  return nullptr;
}

namespace {
// A schema's component fields (model.backbone = {type = ...}) are checked against these
// registries: the config layer below asks through set_component_validator.
void validate_component(const std::string& kind, const ConfigTable& component) {
  if (const RegistryBase* registry = find_registry(kind)) registry->validate(component);
}
const bool kComponentValidatorSet = (set_component_validator(&validate_component), true);
}  // namespace

}  // namespace segdistill
