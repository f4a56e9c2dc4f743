#pragma once
// The loop's validation stage, built once at set-up: the val split, the [eval] options and
// the writers of what it finds (eval/ tables, metrics.jsonl records, the log). It
// validates the student and every model a hook asked it to, and hands each result to the
// hooks; hooks observe validation, they do not drive it.
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "segdistill/data/sections.hpp"
#include "segdistill/engine/hook.hpp"
#include "segdistill/evaluation/inference.hpp"

namespace segdistill {

struct Run;

class ValidationStage {
 public:
  ValidationStage(DataSplit split, EvalSection options) : split_(std::move(split)), options_(std::move(options)) {}

  const DataSplit& split() const { return split_; }
  const EvalSection& options() const { return options_; }
  // Validates `model` too, under `name`, after the student; Error for a name taken.
  void add_model(const std::string& name, std::shared_ptr<Segmentor> model);

  // Whether the iteration just done validates: every train.eval_every iterations, every
  // train.eval_every_epochs epochs, and the last.
  static bool due(const TrainSection& train, const TrainState& state);

  // Validates the student (with precise BatchNorm statistics, train.precise_bn_batches)
  // and every added model, on every rank; rank 0 writes. `observe` gets each result.
  // Returns the student's mIoU.
  double run(Run& run, const std::function<void(const ValidationResult&)>& observe);

 private:
  DataSplit split_;
  EvalSection options_;
  std::vector<std::pair<std::string, std::shared_ptr<Segmentor>>> models_;
};

}  // namespace segdistill
