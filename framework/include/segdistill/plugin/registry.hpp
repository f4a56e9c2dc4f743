#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "segdistill/config/schema.hpp"
#include "segdistill/config/table.hpp"
#include "segdistill/core/api.hpp"

namespace segdistill {

// What a registry knows of one of its names.
struct RegistryEntryInfo {
  std::string name;
  std::string help;    // one line
  std::string origin;  // the plugin (name and file) that registered it
  SchemaSpec schema;   // the keys its config table accepts besides `type`
};

// The part of a registry that does not depend on what it builds: names, help, origins,
// lookups with helpful errors, validation of a component's config table.
class SEGDISTILL_API RegistryBase {
 public:
  // kind: plural name used in listings and config ("backbones");
  // singular: used in messages ("backbone");
  // reserved_keys: keys of a component's table that the framework reads, not the
  // component ("type" always; a data set's "pipeline").
  RegistryBase(std::string kind, std::string singular, std::vector<std::string> reserved_keys = {"type"});
  virtual ~RegistryBase();
  RegistryBase(const RegistryBase&) = delete;
  RegistryBase& operator=(const RegistryBase&) = delete;

  const std::string& kind() const { return kind_; }
  const std::string& singular() const { return singular_; }
  const std::vector<std::string>& reserved_keys() const { return reserved_keys_; }
  std::vector<std::string> names() const;          // sorted
  std::vector<RegistryEntryInfo> entries() const;  // sorted by name
  bool contains(const std::string& name) const;
  // The entry called `name`; Error listing the available names when there is none.
  const RegistryEntryInfo& info(const std::string& name) const;

  // Reads `type` from a component's table and returns its entry, or throws an Error
  // naming file:line, the dotted key path of `type`, the unknown name, the closest
  // match and the sorted available names.
  const RegistryEntryInfo& resolve(const ConfigTable& component) const;
  // Checks the component's `type` and every one of its keys, without building it.
  void validate(const ConfigTable& component) const;

  // Drops every entry registered by `origin` (used when a plugin's registration fails,
  // so that a failed plugin leaves nothing behind).
  virtual void remove_origin(const std::string& origin);

 protected:
  // Adds an entry; Error naming both origins when the name is taken.
  void add_info(RegistryEntryInfo info);

 private:
  std::string kind_;
  std::string singular_;
  std::vector<std::string> reserved_keys_;
  std::map<std::string, RegistryEntryInfo> entries_;
};

// One registry per kind of component. Factories take the component's config table
// (already checked against the entry's schema) and kind-specific arguments.
template <class Product, class... Args>
class Registry : public RegistryBase {
 public:
  using Factory = std::function<std::shared_ptr<Product>(const ConfigTable&, Args...)>;
  using RegistryBase::RegistryBase;

  void add(RegistryEntryInfo info, Factory factory) {
    std::string name = info.name;
    add_info(std::move(info));
    factories_[name] = std::move(factory);
  }

  // Builds the component a config table names with `type`.
  std::shared_ptr<Product> create(const ConfigTable& component, Args... args) const {
    const RegistryEntryInfo& entry = resolve(component);
    return factories_.at(entry.name)(component, std::forward<Args>(args)...);
  }

  // Builds the entry called `name` from `options` (its keys without `type`; an empty
  // table gives its defaults): a component the framework picks when the config does not.
  std::shared_ptr<Product> create_by_name(const std::string& name, const ConfigTable& options, Args... args) const {
    const RegistryEntryInfo& entry = info(name);
    return factories_.at(entry.name)(options, std::forward<Args>(args)...);
  }

  void remove_origin(const std::string& origin) override {
    for (const auto& entry : entries())
      if (entry.origin == origin) factories_.erase(entry.name);
    RegistryBase::remove_origin(origin);
  }

 private:
  std::map<std::string, Factory> factories_;
};

}  // namespace segdistill
