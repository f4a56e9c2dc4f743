#pragma once
// Hooks run around every training iteration, in priority order (lower first). The
// trainer's own — LR (10), checkpointing (70), evaluation (80), logging (90) — are hooks.
#include <cstdint>
#include <map>
#include <string>

#include "segdistill/api.hpp"

namespace segdistill {

class Config;
class Segmentor;

// What hooks see of a run.
struct TrainContext {
  const Config* config = nullptr;
  Segmentor* model = nullptr;
  std::string work_dir;
  std::int64_t iteration = 0;          // iterations done
  std::int64_t total_iterations = 0;
  std::int64_t epoch = 0;
  std::int64_t batches_per_epoch = 0;
  double lr = 0;                       // base LR of this iteration
  std::map<std::string, double> losses;  // "loss", "loss_ce", "loss_<distiller>" of the last iteration
  double images_per_second = 0;
  double last_miou = -1;
};

struct HookContext {};

class SEGDISTILL_API Hook {
 public:
  virtual ~Hook() = default;
  virtual int priority() const { return 50; }
  virtual void before_run(TrainContext&) {}
  virtual void before_iteration(TrainContext&) {}
  virtual void after_iteration(TrainContext&) {}
  virtual void after_run(TrainContext&) {}
};

}  // namespace segdistill
