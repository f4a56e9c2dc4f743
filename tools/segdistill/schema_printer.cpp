#include "schema_printer.hpp"

#include <cmath>
#include <iostream>
#include <sstream>

#include "segdistill/config/sections.hpp"
#include "segdistill/core/closest_match.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/plugin/registries.hpp"

namespace segdistill::cli {

namespace {

std::string number_text(double v) {
  std::ostringstream out;
  if (std::floor(v) == v && std::abs(v) < 1e15)
    out << static_cast<long long>(v);
  else
    out << v;
  return out.str();
}

// "one of: a b", "0.5 to 8", ">= 1" or empty.
std::string valid_values(const FieldSpec& f) {
  std::string text;
  if (!f.allowed.empty()) {
    text = "one of:";
    for (const auto& a : f.allowed) text += " " + value_to_text(a);
  }
  if (f.min && f.max)
    text += (text.empty() ? "" : "; ") + number_text(*f.min) + " to " + number_text(*f.max);
  else if (f.min)
    text += (text.empty() ? ">= " : "; >= ") + number_text(*f.min);
  else if (f.max)
    text += (text.empty() ? "<= " : "; <= ") + number_text(*f.max);
  return text;
}

// "required", "optional" (absent means unset) or the default value ("default 2" in text).
std::string requirement(const FieldSpec& f, SchemaFormat format) {
  if (f.required) return "required";
  if (std::holds_alternative<std::monostate>(f.default_value)) return "optional";
  return (format == SchemaFormat::Text ? "default " : "") + value_to_text(f.default_value);
}

// The plugin's name without the file it was loaded from, which depends on the machine.
// origin is "plugin 'NAME' (FILE)" for plugins, or the SDK's own label.
std::string plugin_name(const std::string& origin) {
  const std::string head = origin.substr(0, origin.find(" ("));
  const std::size_t open = head.find('\''), close = head.rfind('\'');
  return open != std::string::npos && close > open ? head.substr(open + 1, close - open - 1) : head;
}

void print_fields_text(const SchemaSpec& schema) {
  if (schema.fields.empty()) std::cout << "  (no keys)\n";
  for (const auto& f : schema.fields) {
    std::cout << "  " << f.key << " (" << value_type_name(f.type) << ", " << requirement(f, SchemaFormat::Text) << ")";
    const std::string valid = valid_values(f);
    if (!valid.empty()) std::cout << " " << valid;
    std::cout << "\n      " << f.help << "\n";
  }
}

std::string cell(std::string text) {
  for (std::size_t at = text.find('|'); at != std::string::npos; at = text.find('|', at + 2)) text.replace(at, 1, "\\|");
  return text;
}

void print_fields_markdown(const SchemaSpec& schema) {
  if (schema.fields.empty()) {
    std::cout << "No keys.\n\n";
    return;
  }
  std::cout << "| key | type | default | valid | meaning |\n|---|---|---|---|---|\n";
  for (const auto& f : schema.fields)
    std::cout << "| `" << f.key << "` | " << value_type_name(f.type) << " | " << cell(requirement(f, SchemaFormat::Markdown))
              << " | " << cell(valid_values(f)) << " | " << cell(f.help) << " |\n";
  std::cout << "\n";
}

void print_fields(const SchemaSpec& schema, SchemaFormat format) {
  format == SchemaFormat::Text ? print_fields_text(schema) : print_fields_markdown(schema);
}

std::string section_title(const SectionSpec& s) { return s.array_of_tables ? "[[" + s.key + "]]" : "[" + s.key + "]"; }

void print_sections(SchemaFormat format) {
  const bool md = format == SchemaFormat::Markdown;
  std::cout << (md ? "## Config sections\n\n" : "Config sections:\n");
  for (const auto& section : config_sections()) {
    if (md)
      std::cout << "### `" << section_title(section) << "`\n\n" << section.help << ".";
    else
      std::cout << "\n" << section_title(section) << "  " << section.help;
    if (section.array_of_tables)
      std::cout << (md ? " " : "\n  ") << "Each entry's `type` names an entry of the " << section.component_kind
                << " registry, whose own keys follow"
                << (md ? " below." : " (segdistill config schema " + section.component_kind + " NAME)");
    std::cout << (md ? "\n\n" : "\n");
    print_fields(section.schema, format);
  }
}

// What a distiller takes, as it declared at registration.
std::string distiller_inputs_text(const std::string& name, bool md) {
  const DistillerInputs& inputs = distillers().inputs(name);
  const auto code = [&](const std::string& text) { return md ? "`" + text + "`" : text; };
  const auto names = [&](const std::vector<std::string>& list) {
    std::string out;
    for (const auto& n : list) out += (out.empty() ? "" : ", ") + n;
    return code(out);
  };
  std::string text =
      inputs.levels
          ? "Takes a list of features of each network (" + code("student_features") + ", " + code("teacher_features") + ")"
          : "Takes one feature of each network (" + code("student_feature") + ", " + code("teacher_feature") + ")";
  if (inputs.labels) text += " and the batch's labels";
  if (!inputs.defaults.student.empty())
    text += "; by default " + names(inputs.defaults.student) + " of the student and " + names(inputs.defaults.teacher) +
            " of the teacher";
  return text + ".";
}

void print_entries(const RegistryBase& registry, const std::vector<RegistryEntryInfo>& entries, SchemaFormat format) {
  const bool md = format == SchemaFormat::Markdown;
  if (entries.empty()) std::cout << "No " << registry.kind() << " are registered.\n" << (md ? "\n" : "");
  for (const auto& e : entries) {
    if (md) {
      std::cout << "### `" << registry.kind() << "." << e.name << "`\n\n"
                << e.help << " (plugin `" << plugin_name(e.origin) << "`; `type = \"" << e.name << "\"`)\n\n";
      if (&registry == &distillers()) std::cout << distiller_inputs_text(e.name, true) << "\n\n";
    } else {
      std::cout << registry.kind() << "." << e.name << ": " << e.help << "\n  from " << e.origin << "\n  type = \"" << e.name
                << "\"\n";
      if (&registry == &distillers()) std::cout << "  " << distiller_inputs_text(e.name, false) << "\n";
    }
    print_fields(e.schema, format);
    if (!md) std::cout << "\n";
  }
}

const RegistryBase& registry_of_kind(const std::string& kind) {
  if (const RegistryBase* registry = find_registry(kind)) return *registry;
  std::vector<std::string> kinds;
  for (const RegistryBase* r : all_registries()) kinds.push_back(r->kind());
  UnknownName("config schema: unknown kind", kind, kinds).listed_as("valid kinds").raise();
}

}  // namespace

void print_schema(const std::string& kind, const std::string& name, SchemaFormat format) {
  if (kind.empty()) {
    print_sections(format);
    if (format == SchemaFormat::Text) {
      std::cout << "\nComponent kinds (segdistill config schema KIND [NAME]):";
      for (const RegistryBase* r : all_registries()) std::cout << " " << r->kind();
      std::cout << "\n";
      return;
    }
    for (const RegistryBase* r : all_registries()) {
      std::cout << "## Component kind `" << r->kind() << "`\n\n";
      print_entries(*r, r->entries(), format);
    }
    return;
  }
  const RegistryBase& registry = registry_of_kind(kind);
  print_entries(registry, name.empty() ? registry.entries() : std::vector<RegistryEntryInfo>{registry.info(name)}, format);
}

}  // namespace segdistill::cli
