#include "segdistill/core/error.hpp"
#include "segdistill/engine/hook.hpp"

namespace segdistill {

void IterationMetrics::put(const std::string& name, double value, const std::string& writer) {
  const auto [it, fresh] = writers_.emplace(name, writer);
  if (!fresh)
    throw Error("the metric '" + name + "' was written twice in one iteration, by " + it->second + " and by " + writer +
                "; each value has one writer: give one of them another name");
  values_[name] = value;
}

std::optional<double> IterationMetrics::find(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

double IterationMetrics::at(const std::string& name) const {
  if (auto value = find(name)) return *value;
  std::string there;
  for (const auto& [key, value] : values_) there += (there.empty() ? "" : ", ") + key;
  throw Error("no metric '" + name + "' was written this iteration; there are: " + (there.empty() ? "(none)" : there));
}

void IterationMetrics::clear() {
  values_.clear();
  writers_.clear();
}

}  // namespace segdistill
