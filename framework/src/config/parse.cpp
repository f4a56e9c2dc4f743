#include <memory>
#include <sstream>

#include "config/document.hpp"
#include "config/steps.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/untrusted_file.hpp"

namespace segdistill {

namespace {
Error syntax_error(const toml::parse_error& e, const std::string& source_name) {
  const auto& begin = e.source().begin;
  return Error(source_name + ":" + std::to_string(begin.line) + ":" + std::to_string(begin.column) +
               ": invalid TOML: " + std::string(e.description()));
}
}  // namespace

void check_toml_limits(const std::string& text, const std::string& source_name) {
  if (text.size() > kMaxConfigBytes)
    throw Error(source_name + ": " + std::to_string(text.size()) + " bytes, more than a config may have (" +
                std::to_string(kMaxConfigBytes) + ")");
  std::size_t line = 1, brackets = 0, dots = 0;
  const auto too_deep = [&](const char* what) {
    throw Error(source_name + ":" + std::to_string(line) + ": " + what + " nested deeper than " +
                std::to_string(kMaxConfigNesting) + " levels");
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') ++line;
    if (c == '#') {  // a comment runs to the end of the line
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
      continue;
    }
    if (c == '"' || c == '\'') {  // strings, basic or literal, one line or three quotes
      const bool multi = text.compare(i, 3, std::string(3, c)) == 0;
      const std::string close = multi ? std::string(3, c) : std::string(1, c);
      std::size_t j = i + close.size();
      for (; j < text.size(); ++j) {
        if (text[j] == '\n') ++line;
        if (c == '"' && text[j] == '\\') {
          ++j;
          continue;
        }
        if (text.compare(j, close.size(), close) == 0) break;
      }
      i = j + close.size() - 1;
      continue;
    }
    if (c == '[' || c == '{') {
      if (++brackets > kMaxConfigNesting) too_deep("arrays and tables");
      dots = 0;
    } else if (c == ']' || c == '}') {
      if (brackets > 0) --brackets;
      dots = 0;
    } else if (c == '=' || c == ',' || c == '\n') {
      dots = 0;
    } else if (c == '.' && ++dots > kMaxConfigNesting) {
      too_deep("dotted keys");
    }
  }
}

toml::table parse_toml_text(const std::string& text, const std::string& source_name) {
  check_toml_limits(text, source_name);
  try {
    return toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    throw syntax_error(e, source_name);
  }
}

toml::table parse_toml_file(const std::string& path) {
  const std::vector<char> bytes = read_untrusted_file(path, "config file", kMaxConfigBytes, "configs are at most 4 MiB");
  return parse_toml_text(std::string(bytes.begin(), bytes.end()), path);
}

void deep_merge(toml::table& base, toml::table&& overlay) {
  for (auto&& [key, node] : overlay) {
    toml::node* existing = base.get(key.str());
    if (node.is_table() && node.as_table()->contains("_delete_")) {
      // `_delete_ = true` replaces the inherited table instead of merging into it
      // (switching a component's type without inheriting the old type's keys).
      toml::table& replacement = *node.as_table();
      const toml::node& flag = *replacement.get("_delete_");
      if (!flag.is_boolean()) throw Error(source_of(flag) + ": _delete_: expected true or false, got " + node_to_toml(flag));
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
