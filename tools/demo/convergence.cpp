#include "convergence.hpp"

#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "metrics_records.hpp"

namespace segdistill::demo {

std::vector<Validation> read_validations(const std::string& work_dir) {
  std::vector<nlohmann::json> records;
  try {
    records = plotting::read_metrics_records(work_dir, /*skip_unparsable=*/true);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(work_dir + "/metrics.jsonl: cannot read (a training run's work dir holds it): " + e.what());
  }
  std::map<long long, double> by_iteration;
  for (const auto& record : records) {
    if (!record.is_object() || record.value("type", "") != "val") continue;
    const auto iteration = record.find("iter"), miou = record.find("mIoU");
    if (iteration == record.end() || miou == record.end() || !iteration->is_number_integer() || !miou->is_number()) continue;
    by_iteration[iteration->get<long long>()] = 100.0 * miou->get<double>();
  }
  std::vector<Validation> out;
  for (const auto& [iteration, value] : by_iteration) out.push_back({iteration, value});
  return out;
}

Convergence check_convergence(const std::vector<Validation>& validations, std::size_t min_validations, double tolerance) {
  char text[160];
  if (validations.size() < min_validations) {
    std::snprintf(text, sizeof text, "%zu validations, %zu wanted", validations.size(), min_validations);
    return {false, text};
  }
  const auto& last = validations.back();
  const auto& before = validations[validations.size() - 2];
  const double change = std::fabs(last.miou - before.miou);
  std::snprintf(text, sizeof text, "last two validations %.2f (iteration %lld) and %.2f (iteration %lld): %.2f points apart",
                before.miou, before.iteration, last.miou, last.iteration, change);
  return {change <= tolerance, text};
}

}  // namespace segdistill::demo
