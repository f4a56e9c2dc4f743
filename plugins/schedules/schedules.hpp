#pragma once
// Learning-rate schedules, each with an optional linear warm-up.
#include <vector>

#include "segdistill/config/schema.hpp"
#include "segdistill/engine/lr_schedule.hpp"

namespace segdistill::schedules_plugin {

struct Warmup {
  std::int64_t iterations = 0;
  double ratio = 0.1;  // factor at iteration 0, rising linearly to 1
  // The warm-up multiplier of `iteration` (1 after the warm-up).
  double at(std::int64_t iteration) const;
};

struct PolyOptions {
  double power;
  std::int64_t warmup_iters;
  double warmup_ratio;
  double min_ratio;
  static void declare(Schema<PolyOptions>& s);
};

struct CosineOptions {
  std::int64_t warmup_iters;
  double warmup_ratio;
  double min_ratio;
  static void declare(Schema<CosineOptions>& s);
};

struct StepOptions {
  std::vector<std::int64_t> steps;
  double gamma;
  std::int64_t warmup_iters;
  double warmup_ratio;
  static void declare(Schema<StepOptions>& s);
};

// (1 - i / total)^power, not below min_ratio.
class Poly : public LrSchedule {
 public:
  Poly(const PolyOptions& o, const ScheduleContext& c) : o_(o), total_(c.total_iterations) {}
  double factor(std::int64_t iteration) const override;

 private:
  PolyOptions o_;
  std::int64_t total_;
};

// min + (1 - min) (1 + cos(pi i / total)) / 2
class Cosine : public LrSchedule {
 public:
  Cosine(const CosineOptions& o, const ScheduleContext& c) : o_(o), total_(c.total_iterations) {}
  double factor(std::int64_t iteration) const override;

 private:
  CosineOptions o_;
  std::int64_t total_;
};

// gamma ^ (number of steps reached)
class Step : public LrSchedule {
 public:
  explicit Step(const StepOptions& o) : o_(o) {}
  double factor(std::int64_t iteration) const override;

 private:
  StepOptions o_;
};

}  // namespace segdistill::schedules_plugin
