#pragma once
// Hooks: code that runs at fixed points of training, in priority order. The loop itself
// runs the step, records each iteration's metrics, validates and saves checkpoints; hooks
// act around it (the LR schedule) and observe what it produced (the progress bar,
// TensorBoard, the best checkpoint). A plugin registers its own in hooks() and a config
// adds it with
//
//   [[hooks]]
//   type = "ema"          # the registered name
//   priority = "low"      # optional: a name below or a number, lower runs first
//   decay = 0.999         # the hook's own keys
//
// One iteration: before_iteration hooks, the step, after_iteration hooks, after_record
// hooks (with the iteration's record), then when due the validation stage
// (after_validation hooks, once per validated model) and the checkpoint, which therefore
// holds everything the iteration did. A hook sees the run through Trainer. Its
// state_dict() is saved in every checkpoint and, on --resume, handed to load_state_dict()
// after before_run, so a resumed run continues exactly.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/core/api.hpp"

namespace torch::optim {
class Optimizer;
}  // namespace torch::optim

namespace segdistill {

class Config;
class Segmentor;
struct DataSplit;
struct EvalSection;
struct EvaluationResult;
struct TrainSection;

// Named priorities (lower runs first), as mmengine's. The built-in hooks use: LR
// schedule kVeryHigh, progress bar kNormal, best checkpoint kLow, TensorBoard kBelowNormal.
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

// Where a run stands; the loop updates it, hooks read it.
struct TrainState {
  std::int64_t iteration = 0;  // iterations done
  std::int64_t total_iterations = 0;
  std::int64_t epoch = 0;
  std::int64_t batches_per_epoch = 0;
};

// One iteration's values, by name. Each value has one writer: the step writes "loss",
// "loss_ce" (or the configured loss), "loss_<distiller>" and each of a distiller's terms
// "loss_<distiller>.<term>" (averaged over ranks); the loop "images_per_second"; the LR
// hook "lr"; a hook may add its own. Emptied when an iteration starts.
class SEGDISTILL_API IterationMetrics {
 public:
  // Error when `name` was already written this iteration, naming both writers.
  void put(const std::string& name, double value, const std::string& writer);
  std::optional<double> find(const std::string& name) const;
  // Error naming `name` and the values there are when it was not written.
  double at(const std::string& name) const;
  const std::map<std::string, double>& values() const { return values_; }
  void clear();

 private:
  std::map<std::string, double> values_;
  std::map<std::string, std::string> writers_;
};

// What an iteration recorded, built once by the loop after every after_iteration hook:
// metrics.jsonl, TensorBoard and the console show these values.
struct IterationRecord {
  std::int64_t iteration = 0;
  std::int64_t epoch = 0;
  const std::map<std::string, double>* values = nullptr;  // IterationMetrics::values()
  // A train.log_every iteration (or the last): the loop wrote it to metrics.jsonl.
  bool logged = false;
};

// One model's validation by the loop's validation stage.
struct ValidationResult {
  std::string model;  // "student", or the name a hook validates its model under ("ema")
  std::int64_t iteration = 0;
  const EvaluationResult* result = nullptr;
  bool is_student() const { return model == "student"; }
};

// What hooks see of a run.
class SEGDISTILL_API Trainer {
 public:
  virtual ~Trainer();

  virtual const Config& config() const = 0;
  virtual const TrainSection& settings() const = 0;  // the [train] section
  virtual const TrainState& state() const = 0;
  virtual IterationMetrics& metrics() = 0;  // this iteration's
  virtual Segmentor& student() = 0;
  virtual torch::optim::Optimizer& optimizer() = 0;

  // Data-parallel runs: rank 0 alone writes outputs; every rank runs every hook.
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  bool writes_outputs() const { return rank() == 0; }
  virtual bool shows_progress() const = 0;  // a progress bar is wanted (TrainOptions::progress)

  virtual const std::string& work_dir() const = 0;
  // `relative` inside the work dir, its parent folders created.
  virtual std::string output_path(const std::string& relative) const = 0;

  // The validation stage's split and [eval] options; Error when there is no [data.val].
  virtual bool has_validation() const = 0;
  virtual const DataSplit& validation_split() const = 0;
  virtual const EvalSection& eval_options() const = 0;
  // Asks the validation stage to validate `model` too, under `name`, whenever it validates
  // the student (call in before_run): a "val_<name>" record in metrics.jsonl, its tables
  // in eval/<name>/ and after_validation for every hook.
  virtual void validate_also(const std::string& name, std::shared_ptr<Segmentor> model) = 0;
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
  // After the step; may add values to trainer.metrics().
  virtual void after_iteration(Trainer&) {}
  // Every iteration, with every value the iteration wrote (after_iteration hooks' included).
  virtual void after_record(Trainer&, const IterationRecord&) {}
  // After each validation of a model, before the iteration's checkpoint.
  virtual void after_validation(Trainer&, const ValidationResult&) {}
  virtual void after_run(Trainer&) {}

  // Saved in checkpoints under hooks/<name>.<key>; empty for a hook without state. On
  // --resume, load_state_dict gets it after before_run.
  virtual TensorDict state_dict() const { return {}; }
  virtual void load_state_dict(const TensorDict&) {}
};

}  // namespace segdistill
