// TOML text of resolved configs. Our own printer rather than toml++'s formatter: floats
// are written in their shortest round-trip form (0.007, not 0.0070000000000000001).
#include <charconv>
#include <cmath>
#include <sstream>

#include "config/document.hpp"

namespace segdistill {

namespace {

std::string float_text(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), v);
  std::string text(buffer, result.ptr);
  if (text.find_first_of(".eE") == std::string::npos) text += ".0";
  return text;
}

std::string string_text(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escape[8];
          std::snprintf(escape, sizeof(escape), "\\u%04x", c);
          out += escape;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string key_text(std::string_view key) {
  bool bare = !key.empty();
  for (char c : key) bare = bare && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
  return bare ? std::string(key) : string_text(key);
}

bool is_array_of_tables(const toml::node& node) {
  const toml::array* array = node.as_array();
  return array && !array->empty() && array->is_array_of_tables();
}

// A table printed as its own [section] rather than inline.
bool is_section(const toml::node& node) { return node.is_table() && !node.as_table()->is_inline(); }

void print_table_body(std::ostringstream& out, const toml::table& table, const std::string& path);

}  // namespace

std::string node_to_toml(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return string_text(node.as_string()->get());
    case toml::node_type::integer:
      return std::to_string(node.as_integer()->get());
    case toml::node_type::floating_point:
      return float_text(node.as_floating_point()->get());
    case toml::node_type::boolean:
      return node.as_boolean()->get() ? "true" : "false";
    case toml::node_type::array: {
      std::string out = "[";
      const toml::array& array = *node.as_array();
      for (std::size_t i = 0; i < array.size(); ++i) out += (i ? ", " : "") + node_to_toml(*array.get(i));
      return out + "]";
    }
    case toml::node_type::table: {
      const toml::table& table = *node.as_table();
      if (table.empty()) return "{}";
      std::string out = "{ ";
      bool first = true;
      for (const auto& [key, value] : table) {
        out += (first ? "" : ", ") + key_text(key.str()) + " = " + node_to_toml(value);
        first = false;
      }
      return out + " }";
    }
    default: {
      std::ostringstream out;
      node.visit([&](const auto& n) { out << n; });
      return out.str();
    }
  }
}

namespace {

void print_table_body(std::ostringstream& out, const toml::table& table, const std::string& path) {
  for (const auto& [key, value] : table)
    if (!is_section(value) && !is_array_of_tables(value)) out << key_text(key.str()) << " = " << node_to_toml(value) << "\n";
  for (const auto& [key, value] : table) {
    const std::string child = path.empty() ? key_text(key.str()) : path + "." + key_text(key.str());
    if (is_section(value)) {
      out << "\n[" << child << "]\n";
      print_table_body(out, *value.as_table(), child);
    } else if (is_array_of_tables(value)) {
      for (const auto& element : *value.as_array()) {
        out << "\n[[" << child << "]]\n";
        print_table_body(out, *element.as_table(), child);
      }
    }
  }
}

}  // namespace

std::string table_to_toml_document(const toml::table& table) {
  std::ostringstream out;
  print_table_body(out, table, "");
  std::string text = out.str();
  return text.size() > 0 && text[0] == '\n' ? text.substr(1) : text;
}

}  // namespace segdistill
