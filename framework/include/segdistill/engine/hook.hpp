#pragma once
// Hooks: code that runs at fixed points of training, in priority order. Everything the
// trainer does besides the step itself is a hook: the LR schedule, logging and the
// progress bar, validation, checkpoints. A plugin registers its own in hooks() and a
// config adds it with
//
//   [[hooks]]
//   type = "ema"          # the registered name
//   priority = "low"      # optional: a name below or a number, lower runs first
//   decay = 0.999         # the hook's own keys
//
// A hook sees the run through Trainer. Its state_dict() is saved in every checkpoint
// and handed back to load_state_dict() on --resume, so a resumed run continues exactly.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/core/api.hpp"

namespace torch::optim {
class Optimizer;
}  // namespace torch::optim

namespace segdistill {

class Config;
class Segmentor;
struct EvaluationResult;
struct Metrics;
struct TrainSection;

// Named priorities (lower runs first), as mmengine's. The built-in hooks use: LR
// schedule kVeryHigh, logging kNormal, validation kBelowNormal, checkpoints kLow, so a
// checkpoint is written after everything the iteration records.
namespace priority {
inline constexpr int kHighest = 0;
inline constexpr int kVeryHigh = 10;
inline constexpr int kHigh = 30;
inline constexpr int kAboveNormal = 40;
inline constexpr int kNormal = 50;
inline constexpr int kBelowNormal = 60;
inline constexpr int kLow = 70;
inline constexpr int kVeryLow = 90;
inline constexpr int kLowest = 100;
}  // namespace priority

// The priority a name ("very_high", "normal", ...) stands for; nullopt for other names.
SEGDISTILL_API std::optional<int> priority_from_name(const std::string& name);

// Where a run stands; the trainer updates it, hooks read it (and may add to `losses`).
struct TrainState {
  std::int64_t iteration = 0;  // iterations done
  std::int64_t total_iterations = 0;
  std::int64_t epoch = 0;
  std::int64_t batches_per_epoch = 0;
  double lr = 0;  // base LR of this iteration (the backbone's)
  // Of the last iteration, averaged over ranks: "loss" (the total), "loss_ce" (or the
  // configured loss), "loss_<distiller>" and each of its terms "loss_<distiller>.<term>".
  std::map<std::string, double> losses;
  double images_per_second = 0;
  double last_miou = -1;  // of the last validation; -1 before one
};

// What hooks see of a run.
class SEGDISTILL_API Trainer {
 public:
  virtual ~Trainer();

  virtual const Config& config() const = 0;
  virtual const TrainSection& settings() const = 0;  // the [train] section
  virtual TrainState& state() = 0;
  virtual Segmentor& student() = 0;
  virtual torch::optim::Optimizer& optimizer() = 0;

  // Data-parallel runs: rank 0 alone writes outputs; every rank runs every hook, so
  // collective work (evaluate) happens on all of them.
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  bool writes_outputs() const { return rank() == 0; }
  virtual bool shows_progress() const = 0;  // a progress bar is wanted (--no-progress turns it off)

  virtual const std::string& work_dir() const = 0;
  // `relative` inside the work dir, its parent folders created.
  virtual std::string output_path(const std::string& relative) const = 0;
  // Appends a record to metrics.jsonl (rank 0; other ranks ignore it).
  virtual void write_metrics(const nlohmann::json& record) = 0;
  // Saves a checkpoint of the current iteration now (rank 0), hooks' state included.
  virtual void save_checkpoint() = 0;
  virtual const std::string& last_checkpoint() const = 0;

  // The [data.val] split exists.
  virtual bool has_validation() const = 0;
  // Runs `model` over the validation split with the [eval] options (every rank its
  // share in a data-parallel run) and returns to training mode. Writes nothing.
  virtual EvaluationResult evaluate(Segmentor& model) = 0;
  // Tells every hook (after_evaluation) that the student was validated.
  virtual void publish_evaluation(const Metrics& metrics) = 0;
};

// What a hook is built for.
struct HookContext {
  std::string config_key;  // "hooks.0", for messages
};

class SEGDISTILL_API Hook {
 public:
  virtual ~Hook();
  virtual int priority() const { return priority::kNormal; }

  virtual void before_run(Trainer&) {}
  virtual void before_iteration(Trainer&) {}
  virtual void after_iteration(Trainer&) {}
  // After each validation of the student, before the iteration's checkpoint.
  virtual void after_evaluation(Trainer&, const Metrics&) {}
  virtual void after_run(Trainer&) {}

  // Saved in checkpoints under hooks/<name>.<key>; empty for a hook without state.
  virtual TensorDict state_dict() const { return {}; }
  virtual void load_state_dict(const TensorDict&) {}
};

}  // namespace segdistill
