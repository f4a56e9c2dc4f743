#pragma once
// Private to libsegdistill: a training run's peak memory, estimated at set-up from the
// shapes (the student's activations at the configured crop and batch, the weights and
// optimizer state), so that a run that cannot fit in the machine's memory is refused
// before it allocates, instead of reaching 13 GB and dying "out of memory" a minute in.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "segdistill/config/config.hpp"

namespace segdistill {

struct Run;

// The [height, width] the last size-setting step of data.train.pipeline produces
// (crop_size of a crop, size of a resize or pad_to); nullopt when no step sets one.
std::optional<std::pair<std::int64_t, std::int64_t>> configured_train_size(const Config& config);

// The memory this machine gives the process: the smaller of MemTotal and the cgroup's
// memory.max; 0 when neither can be read.
std::uint64_t machine_memory_bytes();

// Logs the estimate; a warning when it exceeds the machine's memory, an Error (with the
// estimate and what to lower) when it exceeds it by more than the estimate's measured
// error. CPU runs only: a GPU's memory is another budget.
void check_training_memory(Run& run);

}  // namespace segdistill
