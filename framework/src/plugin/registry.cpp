#include "segdistill/plugin/registry.hpp"

#include "segdistill/core/closest_match.hpp"
#include "segdistill/core/error.hpp"

namespace segdistill {

RegistryBase::RegistryBase(std::string kind, std::string singular, std::vector<std::string> reserved_keys)
    : kind_(std::move(kind)), singular_(std::move(singular)), reserved_keys_(std::move(reserved_keys)) {}

RegistryBase::~RegistryBase() = default;

std::vector<std::string> RegistryBase::names() const {
  std::vector<std::string> out;
  for (const auto& [name, entry] : entries_) out.push_back(name);
  return out;
}

std::vector<RegistryEntryInfo> RegistryBase::entries() const {
  std::vector<RegistryEntryInfo> out;
  for (const auto& [name, entry] : entries_) out.push_back(entry);
  return out;
}

bool RegistryBase::contains(const std::string& name) const { return entries_.count(name) > 0; }

const RegistryEntryInfo& RegistryBase::info(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end())
    UnknownName("unknown " + singular_, name, names())
        .listed_as("available " + kind_)
        .when_none_valid("(none registered)")
        .raise();
  return it->second;
}

const RegistryEntryInfo& RegistryBase::resolve(const ConfigTable& component) const {
  const std::string name = component.string("type");
  auto it = entries_.find(name);
  if (it != entries_.end()) return it->second;
  UnknownName(component.locate("type") + ": unknown " + singular_, name, names())
      .listed_as("available " + kind_)
      .when_none_valid("no " + kind_ + " are registered (is the plugin that provides them loaded? see `segdistill plugins`)")
      .raise();
}

void RegistryBase::validate(const ConfigTable& component) const {
  read_fields(component, resolve(component).schema, reserved_keys_);
}

void RegistryBase::remove_origin(const std::string& origin) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.origin == origin)
      it = entries_.erase(it);
    else
      ++it;
  }
}

void RegistryBase::add_info(RegistryEntryInfo info) {
  auto it = entries_.find(info.name);
  if (it != entries_.end())
    throw Error(singular_ + " '" + info.name + "' is registered twice: first by " + it->second.origin + ", again by " +
                info.origin);
  entries_.emplace(info.name, std::move(info));
}

}  // namespace segdistill
