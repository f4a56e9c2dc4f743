#pragma once
// Reading a resolved config (`segdistill config show`) key by key, for the tests that hold
// shipped configs to a code base's settings.
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "segdistill/config/config.hpp"

namespace segdistill_test {

inline bool is_index(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

// The TOML text of a dotted key; "distillers.1.weight" and "data.train.pipeline.1.label_fill"
// index arrays of tables. "(absent)" when a part is missing.
inline std::string config_value(const segdistill::Config& config, const std::string& dotted) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  for (std::size_t dot; (dot = dotted.find('.', begin)) != std::string::npos; begin = dot + 1)
    parts.push_back(dotted.substr(begin, dot - begin));
  parts.push_back(dotted.substr(begin));
  segdistill::ConfigTable table = config.root();
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!table.contains(parts[i])) return "(absent)";
    if (i + 2 < parts.size() && is_index(parts[i + 1])) {
      const auto tables = table.tables(parts[i]);
      const auto index = std::stoul(parts[i + 1]);
      if (index >= tables.size()) return "(absent)";
      table = tables[index];
      ++i;
    } else {
      table = table.table(parts[i]);
    }
  }
  return table.contains(parts.back()) ? table.to_toml(parts.back()) : "(absent)";
}

// Numbers compare as numbers (5e-4 == 0.0005), everything else as text.
inline bool same_value(const std::string& actual, const std::string& expected) {
  char* end_a = nullptr;
  char* end_e = nullptr;
  const double a = std::strtod(actual.c_str(), &end_a), e = std::strtod(expected.c_str(), &end_e);
  if (!actual.empty() && !expected.empty() && *end_a == '\0' && *end_e == '\0') return std::abs(a - e) <= 1e-12 * std::abs(e);
  return actual == expected;
}

}  // namespace segdistill_test
