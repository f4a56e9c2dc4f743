#pragma once
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "segdistill/core/api.hpp"

namespace segdistill {

// The segdistill logger (console on stderr; a run adds its log file).
SEGDISTILL_API std::shared_ptr<spdlog::logger> logger();
// Sets the level from a name: trace, debug, info, warn, error, off. Error otherwise.
SEGDISTILL_API void set_log_level(const std::string& level);
// In a data-parallel job: console lines carry "[rank R/W]" and ranks other than 0 show
// warnings and errors only (rank 0 speaks for the job).
SEGDISTILL_API void set_log_rank(int rank, int world_size);
// Also write the log to `path` (appending), e.g. a run's log.txt.
SEGDISTILL_API void add_log_file(const std::string& path);
// Writes `message` as an error to the log files alone (not the console), e.g. the
// error a command is about to print, so that a run's log.txt ends with its cause.
SEGDISTILL_API void write_to_log_files(const std::string& message);

}  // namespace segdistill
