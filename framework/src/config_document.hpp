#pragma once
// Private to libsegdistill: the toml++ objects behind Config and ConfigTable.
#include <memory>
#include <string>

#include <toml++/toml.h>

#include "segdistill/config_table.hpp"

namespace segdistill {

struct ConfigDocument {
  toml::table root;
  std::string path;
};

struct ConfigTableImpl {
  std::shared_ptr<const ConfigDocument> document;  // keeps `table` alive
  const toml::table* table = nullptr;
  std::string path;
};

// "file:line" of a node, "" when toml++ recorded no source.
std::string source_of(const toml::node& node);
// Dotted path of `key` below `parent` ("" parent: the key itself).
std::string join_path(const std::string& parent, const std::string& key);
// The name users know for a toml++ node type ("integer", "table", ...).
std::string toml_type_name(toml::node_type type);
// A node as TOML text, on one line where possible.
std::string node_to_toml(const toml::node& node);

}  // namespace segdistill
