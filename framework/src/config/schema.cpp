#include "segdistill/config/schema.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "config/document.hpp"
#include "segdistill/core/closest_match.hpp"
#include "segdistill/core/error.hpp"

namespace segdistill {

namespace {
ComponentValidator& component_validator() {
  static ComponentValidator validator = nullptr;
  return validator;
}
}  // namespace

void set_component_validator(ComponentValidator validator) { component_validator() = validator; }

const char* value_type_name(ValueType type) {
  switch (type) {
    case ValueType::Bool:
      return "boolean";
    case ValueType::Int:
      return "integer";
    case ValueType::Float:
      return "float";
    case ValueType::String:
      return "string";
    case ValueType::IntList:
      return "array of integers";
    case ValueType::FloatList:
      return "array of floats";
    case ValueType::StringList:
      return "array of strings";
    case ValueType::Table:
      return "table";
    case ValueType::TableList:
      return "array of tables";
  }
  return "?";
}

namespace {

std::string number_text(double v) {
  std::ostringstream out;
  out << v;
  std::string s = out.str();
  if (s.find_first_of(".eE") == std::string::npos && std::isfinite(v)) s += ".0";
  return s;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

template <class T, class F>
std::string list_text(const std::vector<T>& values, F element) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + element(values[i]);
  return out + "]";
}

}  // namespace

std::string value_to_text(const ConfigValue& value) {
  struct Visitor {
    std::string operator()(std::monostate) const { return "(none)"; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return number_text(d); }
    std::string operator()(const std::string& s) const { return quoted(s); }
    std::string operator()(const std::vector<std::int64_t>& v) const {
      return list_text(v, [](std::int64_t i) { return std::to_string(i); });
    }
    std::string operator()(const std::vector<double>& v) const { return list_text(v, number_text); }
    std::string operator()(const std::vector<std::string>& v) const { return list_text(v, quoted); }
    std::string operator()(const ConfigTable& t) const { return t.to_toml(); }
    std::string operator()(const std::vector<ConfigTable>& v) const {
      return list_text(v, [](const ConfigTable& t) { return t.to_toml(); });
    }
  };
  return std::visit(Visitor{}, value);
}

namespace {

class FieldReader {
 public:
  FieldReader(const ConfigTable& table, const FieldSpec& spec, const toml::node& node)
      : table_(table), spec_(spec), node_(node) {}

  ConfigValue read() const {
    ConfigValue value = convert();
    check_constraints(value);
    if (!spec_.component_kind.empty()) validate_components(value);
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& message) const { throw Error(table_.locate(spec_.key) + ": " + message); }

  [[noreturn]] void wrong_type(const toml::node& node, const std::string& element_note = "") const {
    fail("expected " + std::string(value_type_name(spec_.type)) + ", got " + toml_type_name(node.type()) + element_note + " " +
         node_to_toml(node) + help_suffix());
  }

  std::string help_suffix() const { return spec_.help.empty() ? "" : " (" + spec_.help + ")"; }

  std::int64_t as_int(const toml::node& node, const std::string& note = "") const {
    if (!node.is_integer()) wrong_type(node, note);
    return node.as_integer()->get();
  }
  double as_float(const toml::node& node, const std::string& note = "") const {
    if (node.is_integer()) return static_cast<double>(node.as_integer()->get());  // 1 means 1.0
    if (!node.is_floating_point()) wrong_type(node, note);
    return node.as_floating_point()->get();
  }
  std::string as_string(const toml::node& node, const std::string& note = "") const {
    if (!node.is_string()) wrong_type(node, note);
    return node.as_string()->get();
  }
  const toml::array& as_array() const {
    if (!node_.is_array()) wrong_type(node_);
    return *node_.as_array();
  }
  template <class T, class F>
  std::vector<T> elements(F convert_element) const {
    std::vector<T> out;
    const auto& array = as_array();
    for (std::size_t i = 0; i < array.size(); ++i)
      out.push_back(convert_element(*array.get(i), " at index " + std::to_string(i)));
    return out;
  }

  ConfigValue convert() const {
    switch (spec_.type) {
      case ValueType::Bool:
        if (!node_.is_boolean()) wrong_type(node_);
        return node_.as_boolean()->get();
      case ValueType::Int:
        return as_int(node_);
      case ValueType::Float:
        return as_float(node_);
      case ValueType::String:
        return as_string(node_);
      case ValueType::IntList:
        return elements<std::int64_t>([&](const toml::node& n, const std::string& note) { return as_int(n, note); });
      case ValueType::FloatList:
        return elements<double>([&](const toml::node& n, const std::string& note) { return as_float(n, note); });
      case ValueType::StringList:
        return elements<std::string>([&](const toml::node& n, const std::string& note) { return as_string(n, note); });
      case ValueType::Table:
        return table_.table(spec_.key);
      case ValueType::TableList:
        return table_.tables(spec_.key);
    }
    wrong_type(node_);
  }

  void check_number(double v) const {
    if (!std::isfinite(v)) fail("value " + node_to_toml(node_) + " is not a finite number" + help_suffix());
    if ((spec_.min && v < *spec_.min) || (spec_.max && v > *spec_.max)) {
      std::string range = spec_.min && spec_.max ? "between " + number_text(*spec_.min) + " and " + number_text(*spec_.max)
                          : spec_.min            ? "at least " + number_text(*spec_.min)
                                                 : "at most " + number_text(*spec_.max);
      fail("value " + node_to_toml(node_) + " out of range: must be " + range + help_suffix());
    }
  }

  void check_constraints(const ConfigValue& value) const {
    if (std::holds_alternative<std::int64_t>(value)) check_number(static_cast<double>(std::get<std::int64_t>(value)));
    if (std::holds_alternative<double>(value)) check_number(std::get<double>(value));
    if (const auto* ints = std::get_if<std::vector<std::int64_t>>(&value))
      for (auto v : *ints) check_number(static_cast<double>(v));
    if (const auto* floats = std::get_if<std::vector<double>>(&value))
      for (auto v : *floats) check_number(v);
    if (spec_.allowed.empty()) return;
    const std::string text = value_to_text(value);
    std::vector<std::string> allowed;
    for (const auto& a : spec_.allowed) allowed.push_back(value_to_text(a));
    if (std::find(allowed.begin(), allowed.end(), text) != allowed.end()) return;
    fail(UnknownName("invalid value", text, allowed).listed_as("valid values").order(ChoiceOrder::kAsGiven).unquoted().message());
  }

  void validate_components(const ConfigValue& value) const {
    const ComponentValidator validate = component_validator();
    if (!validate || spec_.component_kind.empty()) return;
    if (const auto* table = std::get_if<ConfigTable>(&value)) validate(spec_.component_kind, *table);
    if (const auto* list = std::get_if<std::vector<ConfigTable>>(&value))
      for (const auto& t : *list) validate(spec_.component_kind, t);
  }

  const ConfigTable& table_;
  const FieldSpec& spec_;
  const toml::node& node_;
};

}  // namespace

std::vector<ConfigValue> read_fields(const ConfigTable& table, const SchemaSpec& spec,
                                     const std::vector<std::string>& ignored_keys) {
  std::vector<std::string> known = ignored_keys;
  for (const auto& field : spec.fields) known.push_back(field.key);
  for (const auto& key : table.keys()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::vector<std::string> valid;
    for (const auto& field : spec.fields) valid.push_back(field.key);
    std::sort(valid.begin(), valid.end());
    UnknownName(table.locate(key) + ": unknown key", key, valid)
        .listed_as("valid keys")
        .order(ChoiceOrder::kSorted)
        .when_none_valid("this table takes no keys")
        .raise();
  }

  const toml::table& toml_table = *table.impl().table;
  std::vector<ConfigValue> values;
  values.reserve(spec.fields.size());
  for (const auto& field : spec.fields) {
    const toml::node* node = toml_table.get(field.key);
    if (node) {
      values.push_back(FieldReader(table, field, *node).read());
    } else if (field.required) {
      const std::string where = table.where();
      throw Error((where.empty() ? "" : where + ": ") + "missing required key '" + table.path_of(field.key) + "' (" +
                  value_type_name(field.type) + (field.help.empty() ? "" : ": " + field.help) + ")");
    } else if (!std::holds_alternative<std::monostate>(field.default_value)) {
      values.push_back(field.default_value);
    } else if (field.optional) {
      values.emplace_back(std::monostate{});
    } else if (field.type == ValueType::Table) {
      values.emplace_back(ConfigTable());
    } else if (field.type == ValueType::TableList) {
      values.emplace_back(std::vector<ConfigTable>());
    } else {
      throw Error("schema of " + table.path() + ": key '" + field.key +
                  "' has no default, is not required and not optional (a bug in the component's declaration)");
    }
  }
  return values;
}

}  // namespace segdistill
