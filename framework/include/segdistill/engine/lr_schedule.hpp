#pragma once
#include <cstdint>

#include "segdistill/core/api.hpp"

namespace segdistill {

struct ScheduleContext {
  std::int64_t total_iterations = 0;
};

// The learning rate of iteration `iteration` (0-based) as a factor of the base LR.
// Registered in lr_schedules(); a pure function of the iteration, so a resumed run
// continues the schedule exactly.
class SEGDISTILL_API LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  virtual double factor(std::int64_t iteration) const = 0;
};

}  // namespace segdistill
