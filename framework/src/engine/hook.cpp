#include "segdistill/engine/hook.hpp"

#include <utility>
#include <vector>

#include "segdistill/core/closest_match.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/engine/train_section.hpp"

namespace segdistill {

Trainer::~Trainer() = default;
Hook::~Hook() = default;

namespace {
const std::vector<std::pair<std::string, int>>& priority_names() {
  static const std::vector<std::pair<std::string, int>> names{
      {"highest", priority::kHighest}, {"very_high", priority::kVeryHigh},
      {"high", priority::kHigh},       {"above_normal", priority::kAboveNormal},
      {"normal", priority::kNormal},   {"below_normal", priority::kBelowNormal},
      {"low", priority::kLow},         {"very_low", priority::kVeryLow},
      {"lowest", priority::kLowest}};
  return names;
}
}  // namespace

std::optional<int> priority_from_name(const std::string& name) {
  for (const auto& [n, value] : priority_names())
    if (n == name) return value;
  return std::nullopt;
}

std::optional<int> read_hook_priority(const ConfigTable& table) {
  const std::string type = table.type_of("priority");
  if (type.empty()) return std::nullopt;
  const std::string where = table.locate("priority");
  if (type == "string") {
    const std::string name = table.string("priority");
    if (auto value = priority_from_name(name)) return value;
    std::vector<std::string> names;
    for (const auto& [n, value] : priority_names()) names.push_back(n);
    UnknownName(where + ": unknown priority", name, names)
        .listed_as("valid priorities (or a number from 0 to 100, lower runs first)")
        .order(ChoiceOrder::kAsGiven)
        .raise();
  }
  if (type == "integer") {
    const std::string text = table.to_toml("priority");
    long long value = 0;
    try {
      value = std::stoll(text);
    } catch (const std::exception&) {
      value = -1;
    }
    if (value >= 0 && value <= 100) return static_cast<int>(value);
    throw Error(where + ": priority " + text + " is out of range: must be between 0 and 100 (lower runs first)");
  }
  throw Error(where + ": priority must be a name (very_high, high, normal, low, ...) or a number from 0 to 100, not a " + type);
}

}  // namespace segdistill
