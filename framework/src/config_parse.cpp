#include <fstream>
#include <memory>
#include <sstream>

#include "config_document.hpp"
#include "config_steps.hpp"
#include "segdistill/error.hpp"

namespace segdistill {

namespace {
Error syntax_error(const toml::parse_error& e, const std::string& source_name) {
  const auto& begin = e.source().begin;
  return Error(source_name + ":" + std::to_string(begin.line) + ":" + std::to_string(begin.column) +
               ": invalid TOML: " + std::string(e.description()));
}
}  // namespace

toml::table parse_toml_text(const std::string& text, const std::string& source_name) {
  try {
    return toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    throw syntax_error(e, source_name);
  }
}

toml::table parse_toml_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open config file (does it exist and is it readable?)");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(path + ": error while reading the config file");
  return parse_toml_text(text.str(), path);
}

void deep_merge(toml::table& base, toml::table&& overlay) {
  for (auto&& [key, node] : overlay) {
    toml::node* existing = base.get(key.str());
    if (node.is_table() && node.as_table()->contains("_delete_")) {
      // `_delete_ = true` replaces the inherited table instead of merging into it
      // (switching a component's type without inheriting the old type's keys).
      toml::table& replacement = *node.as_table();
      const toml::node& flag = *replacement.get("_delete_");
      if (!flag.is_boolean())
        throw Error(source_of(flag) + ": _delete_: expected true or false, got " + node_to_toml(flag));
      const bool replace = flag.as_boolean()->get();
      replacement.erase("_delete_");
      if (replace || !existing || !existing->is_table()) {
        base.insert_or_assign(key, std::move(replacement));
        continue;
      }
    }
    if (existing && existing->is_table() && node.is_table()) {
      deep_merge(*existing->as_table(), std::move(*node.as_table()));
      continue;
    }
    node.visit([&, &key = key](auto&& concrete) { base.insert_or_assign(key, std::move(concrete)); });
  }
}

}  // namespace segdistill
