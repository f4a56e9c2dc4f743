#pragma once
#include <chrono>
#include <cstdint>
#include <string>

#include "segdistill/core/api.hpp"

namespace segdistill {

// Progress of long work on stderr: a redrawn bar with items/s and ETA on a terminal,
// a plain log line every `log_every_seconds` otherwise (logs, CI).
class SEGDISTILL_API ProgressBar {
 public:
  ProgressBar(std::string label, std::int64_t total, double log_every_seconds = 10.0);
  ~ProgressBar();
  // Sets the number of items done; `note` is shown after the counts (loss, lr, ...).
  void update(std::int64_t done, const std::string& note = "");
  void finish(const std::string& note = "");

 private:
  void draw(bool final_line);
  std::string label_;
  std::int64_t total_;
  std::int64_t done_ = 0;
  std::int64_t drawn_done_ = -1;
  std::string note_;
  bool terminal_;
  bool finished_ = false;
  double log_every_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace segdistill
