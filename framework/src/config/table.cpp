#include <sstream>

#include "config/document.hpp"
#include "segdistill/core/error.hpp"

namespace segdistill {

std::string source_of(const toml::node& node) {
  const auto& source = node.source();
  if (!source.path || source.begin.line == 0) return "";
  return *source.path + ":" + std::to_string(source.begin.line);
}

std::string join_path(const std::string& parent, const std::string& key) { return parent.empty() ? key : parent + "." + key; }

std::string toml_type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    default:
      return "nothing";
  }
}

namespace {
const toml::table& empty_table() {
  static const toml::table table;
  return table;
}
}  // namespace

ConfigTable::ConfigTable() : ConfigTable(std::make_shared<ConfigTableImpl>(ConfigTableImpl{nullptr, &empty_table(), ""})) {}

ConfigTable::ConfigTable(std::shared_ptr<const ConfigTableImpl> impl) : impl_(std::move(impl)) {}

const std::string& ConfigTable::path() const { return impl_->path; }

std::string ConfigTable::path_of(const std::string& key) const { return join_path(impl_->path, key); }

std::string ConfigTable::where(const std::string& key) const {
  if (key.empty()) return source_of(*impl_->table);
  const toml::node* node = impl_->table->get(key);
  return node ? source_of(*node) : source_of(*impl_->table);
}

std::string ConfigTable::locate(const std::string& key) const {
  const std::string file_line = where(key);
  const std::string dotted = key.empty() ? impl_->path : path_of(key);
  std::string out = file_line;
  if (!dotted.empty()) out += (out.empty() ? "" : ": ") + dotted;
  return out.empty() ? "config" : out;
}

std::vector<std::string> ConfigTable::keys() const {
  std::vector<std::string> out;
  for (const auto& [key, node] : *impl_->table) out.emplace_back(key.str());
  return out;
}

bool ConfigTable::contains(const std::string& key) const { return impl_->table->contains(key); }

bool ConfigTable::empty() const { return impl_->table->empty(); }

std::string ConfigTable::type_of(const std::string& key) const {
  const toml::node* node = impl_->table->get(key);
  return node ? toml_type_name(node->type()) : "";
}

ConfigTable ConfigTable::table(const std::string& key) const {
  const toml::node* node = impl_->table->get(key);
  if (!node) throw Error(locate() + ": missing table '" + key + "' (required at " + path_of(key) + ")");
  if (!node->is_table())
    throw Error(locate(key) + ": expected a table, got " + toml_type_name(node->type()) + " " + node_to_toml(*node));
  return ConfigTable(std::make_shared<ConfigTableImpl>(ConfigTableImpl{impl_->document, node->as_table(), path_of(key)}));
}

std::vector<ConfigTable> ConfigTable::tables(const std::string& key) const {
  const toml::node* node = impl_->table->get(key);
  if (!node) return {};
  const toml::array* array = node->as_array();
  if (!array) throw Error(locate(key) + ": expected an array of tables ([[" + key + "]]), got " + toml_type_name(node->type()));
  std::vector<ConfigTable> out;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const std::string element_path = path_of(key) + "." + std::to_string(i);
    if (!element.is_table()) {
      const std::string where = source_of(element);
      throw Error((where.empty() ? "" : where + ": ") + element_path + ": expected a table, got " +
                  toml_type_name(element.type()));
    }
    out.emplace_back(std::make_shared<ConfigTableImpl>(ConfigTableImpl{impl_->document, element.as_table(), element_path}));
  }
  return out;
}

std::string ConfigTable::string(const std::string& key) const {
  const toml::node* node = impl_->table->get(key);
  if (!node) throw Error(locate() + ": missing required key '" + key + "' (a string, at " + path_of(key) + ")");
  if (!node->is_string())
    throw Error(locate(key) + ": expected a string, got " + toml_type_name(node->type()) + " " + node_to_toml(*node));
  return std::string(node->as_string()->get());
}

std::string ConfigTable::to_toml(const std::string& key) const {
  if (key.empty()) return table_to_toml_document(*impl_->table);
  const toml::node* node = impl_->table->get(key);
  return node ? node_to_toml(*node) : "";
}

}  // namespace segdistill
