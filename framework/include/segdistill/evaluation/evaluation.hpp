#pragma once
// Evaluating a model, or saved predictions, on a configured split with the one
// evaluator; the per-class table and the JSON report.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "segdistill/core/api.hpp"
#include "segdistill/data/sections.hpp"
#include "segdistill/evaluation/evaluator.hpp"
#include "segdistill/evaluation/inference.hpp"

namespace segdistill {

class Collectives;
class Segmentor;

struct EvaluationOutputs {
  std::string predictions_dir;  // palette PNGs of the predictions (indices preserved), "" for none
  std::string overlays_dir;     // predictions over the images, "" for none
  int workers = 2;              // data loading threads
  bool progress = true;
  // In a data-parallel job: this rank evaluates its share of the split (every
  // world_size-th sample) and the counts of all ranks are summed, so every rank gets
  // the metrics of the whole split. Null: the whole split here.
  Collectives* collectives = nullptr;
};

struct EvaluationResult {
  Evaluator evaluator;
  Metrics metrics;
  std::vector<std::string> class_names;
  std::size_t samples = 0;
  double seconds = 0;
};

// Runs `model` over `split` with the [eval] options: logits at the label's resolution
// (bilinear), or at resize_to x resize_to with the label resized (nearest).
SEGDISTILL_API EvaluationResult evaluate_model(Segmentor& model, DataSplit split, const EvalSection& options,
                                               const EvaluationOutputs& outputs = {});

// Scores saved predictions (PNG indices or palette, named ID.png) against `split`'s labels.
SEGDISTILL_API EvaluationResult evaluate_predictions(const std::string& predictions_dir, const DataSplit& split,
                                                     const EvalSection& options, int threads);

// The per-class table (class, IoU, Acc, ground-truth pixels) and the summary line.
SEGDISTILL_API std::string format_metrics(const Metrics& metrics, const std::vector<std::string>& class_names);

// Every metric, per-class values and counts, as JSON.
SEGDISTILL_API nlohmann::json metrics_to_json(const Metrics& metrics, const std::vector<std::string>& class_names);

}  // namespace segdistill
