#pragma once
// Training, alone or distilled from a teacher, as the config says. One run = one work
// dir: config.toml, log.txt, metrics.jsonl, checkpoints/iter_N.pt + latest, eval/.
#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "segdistill/config/config.hpp"
#include "segdistill/core/api.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/runtime/collectives.hpp"

namespace segdistill {

struct TrainOptions {
  std::string work_dir;         // overrides train.work_dir
  bool resume = false;          // continue from the work dir's latest checkpoint
  bool overwrite = false;       // start afresh in a used work dir, moving its previous run aside
  bool resume_changed = false;  // resume although the config changed in ways that break exactness
  std::string device = "auto";  // "auto" (CUDA when present), "cpu", "cuda", "cuda:N"
  bool progress = true;
  // One rank of a data-parallel job (world_from_environment()); unset: one process.
  // Rank 0 alone writes the console log, metrics.jsonl, evaluations and checkpoints.
  std::optional<WorldInfo> world;
};

// Set from a signal handler: the trainer saves a checkpoint after the current iteration
// and stops with StoppedBySignal.
SEGDISTILL_API std::atomic<int>& stop_signal();

// Thrown when training stopped on SIGINT/SIGTERM after saving a checkpoint.
class SEGDISTILL_API StoppedBySignal : public Error {
 public:
  StoppedBySignal(const std::string& message, int signal) : Error(message), signal_(signal) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

struct TrainSummary {
  std::string work_dir;
  std::string last_checkpoint;
  std::int64_t iterations = 0;
  double final_miou = -1;  // -1 when there was no validation
  std::size_t skipped_samples = 0;
};

// Error unless the global train.batch_size splits evenly over `world_size` ranks.
SEGDISTILL_API void check_batch_split(std::int64_t batch_size, int world_size);

// Runs training. Errors the user can cause (config, data, features a distiller asks
// for, a teacher checkpoint that does not fit, NaN loss, a full disk) are Errors that
// name the cause; every check that can happen before the first iteration does.
SEGDISTILL_API TrainSummary train(const Config& config, const TrainOptions& options);

}  // namespace segdistill
