#include "segdistill/plugin/distiller_registry.hpp"

namespace segdistill {

namespace {
std::vector<std::string> distiller_reserved_keys() {
  std::vector<std::string> keys{"type"};
  for (const auto& field : schema_of<DistillerKeys>().fields) keys.push_back(field.key);
  return keys;
}
}  // namespace

DistillerRegistry::DistillerRegistry() : Registry("distillers", "distiller", distiller_reserved_keys()) {}

void DistillerRegistry::add(RegistryEntryInfo info, DistillerInputs inputs, Factory factory) {
  const std::string name = info.name;
  Registry::add(std::move(info), std::move(factory));
  inputs_[name] = std::move(inputs);
}

const DistillerInputs& DistillerRegistry::inputs(const std::string& name) const { return inputs_.at(info(name).name); }

void DistillerRegistry::remove_origin(const std::string& origin) {
  for (const auto& entry : entries())
    if (entry.origin == origin) inputs_.erase(entry.name);
  Registry::remove_origin(origin);
}

}  // namespace segdistill
