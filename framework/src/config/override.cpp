#include <cctype>

#include "config/document.hpp"
#include "config/steps.hpp"
#include "segdistill/core/error.hpp"

namespace segdistill {

namespace {

std::vector<std::string> split_key(const std::string& dotted, const std::string& assignment) {
  std::vector<std::string> parts;
  std::string current;
  for (char c : dotted) {
    if (c == '.') {
      parts.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  parts.push_back(current);
  for (const auto& part : parts)
    if (part.empty())
      throw Error("--set " + assignment + ": invalid key '" + dotted +
                  "' (expected dotted names such as train.optimizer.lr or distillers.0.weight)");
  return parts;
}

bool is_bare_word(const std::string& value) {
  if (value.empty()) return false;
  for (char c : value)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '/')) return false;
  return std::isalpha(static_cast<unsigned char>(value[0])) || value[0] == '_' || value[0] == '.' || value[0] == '/';
}

bool is_index(const std::string& part) {
  if (part.empty()) return false;
  for (char c : part)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

void apply_override(toml::table& root, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos) throw Error("--set " + assignment + ": expected KEY=VALUE, for example --set train.optimizer.lr=0.01");
  const std::string dotted = assignment.substr(0, eq);
  const std::string value_text = assignment.substr(eq + 1);
  const auto parts = split_key(dotted, assignment);
  if (parts.size() > kMaxConfigNesting)
    throw Error("--set " + dotted.substr(0, 80) + "...: a key of " + std::to_string(parts.size()) + " levels (at most " +
                std::to_string(kMaxConfigNesting) + ")");
  const std::string source_name = "--set " + dotted;

  toml::table parsed;
  check_toml_limits(value_text, source_name);
  try {
    parsed = toml::parse("value = " + value_text, source_name);
  } catch (const toml::parse_error&) {
    // A bare word is what a user means as a string: --set model.backbone.type=resnet18.
    if (!is_bare_word(value_text))
      throw Error("--set " + assignment + ": '" + value_text +
                  "' is not a TOML value (quote strings that contain spaces or symbols: " + dotted +
                  "='\"...\"'; tables: " + dotted + "={key=1}; arrays: " + dotted + "=[1,2])");
    parsed = toml::parse("value = \"" + value_text + "\"", source_name);
  }
  toml::node& value = *parsed.get("value");

  toml::node* container = &root;
  std::string walked;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    const std::string& part = parts[i];
    walked = join_path(walked, part);
    toml::node* next = nullptr;
    if (auto* table = container->as_table()) {
      next = table->get(part);
      if (!next) next = &table->insert_or_assign(part, toml::table{}).first->second;
    } else if (auto* array = container->as_array()) {
      if (!is_index(part) || std::stoul(part) >= array->size())
        throw Error("--set " + assignment + ": " + walked + ": the array has " + std::to_string(array->size()) +
                    " elements; use an index from 0 to " + std::to_string(array->size() - 1));
      next = array->get(std::stoul(part));
    }
    if (!next->is_table() && !next->is_array())
      throw Error("--set " + assignment + ": " + walked + " is a " + toml_type_name(next->type()) +
                  ", not a table, so it has no key '" + parts[i + 1] + "'");
    container = next;
  }

  const std::string& last = parts.back();
  if (auto* table = container->as_table()) {
    value.visit([&](auto&& concrete) { table->insert_or_assign(last, std::move(concrete)); });
  } else {
    auto* array = container->as_array();
    if (!is_index(last) || std::stoul(last) >= array->size())
      throw Error("--set " + assignment + ": " + walked + ": the array has " + std::to_string(array->size()) +
                  " elements; use an index from 0 to " + std::to_string(array->size() ? array->size() - 1 : 0));
    value.visit(
        [&](auto&& concrete) { array->replace(array->cbegin() + static_cast<long>(std::stoul(last)), std::move(concrete)); });
  }
}

}  // namespace segdistill
