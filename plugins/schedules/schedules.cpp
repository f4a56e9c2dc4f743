#include "schedules.hpp"

#include <algorithm>
#include <cmath>

#include "segdistill/plugin/plugin_api.hpp"

namespace segdistill::schedules_plugin {

namespace {
template <class O>
void declare_warmup(Schema<O>& s) {
  s.field("warmup_iters", &O::warmup_iters, "iterations of linear warm-up (0: none)").default_value(0).at_least(0);
  s.field("warmup_ratio", &O::warmup_ratio, "LR factor at the start of the warm-up").default_value(0.1).range(0, 1);
}
}  // namespace

double Warmup::at(std::int64_t iteration) const {
  if (iteration >= iterations || iterations == 0) return 1.0;
  return 1.0 - (1.0 - static_cast<double>(iteration) / static_cast<double>(iterations)) * (1.0 - ratio);
}

void PolyOptions::declare(Schema<PolyOptions>& s) {
  s.field("power", &PolyOptions::power, "exponent of the decay").default_value(0.9).range(0, 100);
  s.field("min_ratio", &PolyOptions::min_ratio, "lowest factor").default_value(0.0).range(0, 1);
  declare_warmup(s);
}

void CosineOptions::declare(Schema<CosineOptions>& s) {
  s.field("min_ratio", &CosineOptions::min_ratio, "factor at the last iteration").default_value(0.0).range(0, 1);
  declare_warmup(s);
}

void StepOptions::declare(Schema<StepOptions>& s) {
  s.field("steps", &StepOptions::steps, "iterations at which the LR is multiplied by gamma").required().at_least(1);
  s.field("gamma", &StepOptions::gamma, "factor at each step").default_value(0.1).range(0, 1);
  declare_warmup(s);
}

double Poly::factor(std::int64_t i) const {
  const double progress = std::min(1.0, static_cast<double>(i) / static_cast<double>(std::max<std::int64_t>(1, total_)));
  return std::max(o_.min_ratio, std::pow(1.0 - progress, o_.power)) * Warmup{o_.warmup_iters, o_.warmup_ratio}.at(i);
}

double Cosine::factor(std::int64_t i) const {
  const double progress = std::min(1.0, static_cast<double>(i) / static_cast<double>(std::max<std::int64_t>(1, total_)));
  return (o_.min_ratio + (1 - o_.min_ratio) * 0.5 * (1 + std::cos(M_PI * progress))) *
         Warmup{o_.warmup_iters, o_.warmup_ratio}.at(i);
}

double Step::factor(std::int64_t i) const {
  const auto reached = std::count_if(o_.steps.begin(), o_.steps.end(), [&](std::int64_t s) { return i >= s; });
  return std::pow(o_.gamma, static_cast<double>(reached)) * Warmup{o_.warmup_iters, o_.warmup_ratio}.at(i);
}

namespace {
void register_schedules(PluginRegistrar& r) {
  r.add_class<Poly, PolyOptions>(lr_schedules(), "poly", "(1 - i/total)^power with optional warm-up");
  r.add_class<Cosine, CosineOptions>(lr_schedules(), "cosine",
                                     "cosine decay to min_ratio with optional warm-up (published TaT runs)");
  r.add_class<Step, StepOptions>(lr_schedules(), "step", "multiply by gamma at each of steps, with optional warm-up");
}
}  // namespace

}  // namespace segdistill::schedules_plugin

SEGDISTILL_PLUGIN("schedules", "1.0.0", segdistill::schedules_plugin::register_schedules)
