#include "config/diff.hpp"

#include <map>

#include "config/document.hpp"
#include "config/steps.hpp"
#include "segdistill/core/error.hpp"

namespace segdistill {

namespace {

// Every leaf as dotted key -> TOML text. Arrays of tables are walked by index so that a
// change inside one distiller names that distiller's key.
void flatten(const toml::node& node, const std::string& path, std::map<std::string, std::string>& out) {
  if (const toml::table* table = node.as_table()) {
    for (const auto& [key, value] : *table) flatten(value, join_path(path, std::string(key.str())), out);
    return;
  }
  if (const toml::array* array = node.as_array(); array && array->is_array_of_tables()) {
    for (std::size_t i = 0; i < array->size(); ++i) flatten(*array->get(i), join_path(path, std::to_string(i)), out);
    return;
  }
  out[path] = node_to_toml(node);
}

std::map<std::string, std::string> leaves(const std::string& text, const std::string& source) {
  toml::table root;
  check_toml_limits(text, source);
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw Error(source + ": the saved config does not parse: " + std::string(e.description()));
  }
  std::map<std::string, std::string> out;
  flatten(root, "", out);
  return out;
}

}  // namespace

std::vector<ConfigChange> config_changes(const std::string& before, const std::string& after, const std::string& source) {
  const auto a = leaves(before, source), b = leaves(after, "the config");
  std::vector<ConfigChange> changes;
  const std::string absent = "(absent)";
  for (const auto& [key, value] : a) {
    auto it = b.find(key);
    if (it == b.end())
      changes.push_back({key, value, absent});
    else if (it->second != value)
      changes.push_back({key, value, it->second});
  }
  for (const auto& [key, value] : b)
    if (!a.count(key)) changes.push_back({key, absent, value});
  return changes;
}

}  // namespace segdistill
