#pragma once
// Private to libsegdistill: the toml++ objects behind Config and ConfigTable.
#include <memory>
#include <string>

#include <toml++/toml.h>

#include "segdistill/config/table.hpp"

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
// A value as TOML text on one line (tables inline); floats in shortest round-trip form.
std::string node_to_toml(const toml::node& node);
// A whole table as a TOML document: plain keys first, then [sections] and [[arrays]].
std::string table_to_toml_document(const toml::table& table);

}  // namespace segdistill
