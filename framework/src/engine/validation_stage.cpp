#include "engine/validation_stage.hpp"

#include <nlohmann/json.hpp>

#include "core/atomic_file.hpp"
#include "engine/precise_batch_norm.hpp"
#include "engine/run.hpp"
#include "segdistill/core/check.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/evaluation/evaluation.hpp"

namespace segdistill {

namespace {

// eval/iter_N.txt and .json (another model's under eval/<name>/), a "val" or "val_<name>"
// record in metrics.jsonl and the table in the log.
void write_validation(Run& run, const std::string& model, const EvaluationResult& r) {
  const std::int64_t iteration = run.state.iteration;
  const bool student = model == "student";
  const std::string table = format_metrics(r.metrics, r.class_names);
  logger()->info("validation{} at iteration {}:\n{}", student ? "" : " of " + model, iteration, table);
  const std::string name = (student ? "eval/" : "eval/" + model + "/") + "iter_" + std::to_string(iteration);
  write_file_atomically(run.work->path(name + ".txt"), std::vector<char>(table.begin(), table.end()), "validation table");
  nlohmann::json report = metrics_to_json(r.metrics, r.class_names);
  report["iter"] = iteration;
  report["confusion_matrix"] = r.evaluator.confusion();
  const std::string json = report.dump(2) + "\n";
  write_file_atomically(run.work->path(name + ".json"), std::vector<char>(json.begin(), json.end()), "validation report");
  run.work->append_metrics({{"type", student ? "val" : "val_" + model},
                            {"iter", iteration},
                            {"mIoU", r.metrics.miou},
                            {"mAcc", r.metrics.macc},
                            {"aAcc", r.metrics.aacc},
                            {"fwIoU", r.metrics.fwiou}});
}

}  // namespace

void ValidationStage::add_model(const std::string& name, std::shared_ptr<Segmentor> model) {
  require(name != "student", "a hook asked to validate a model under the name 'student', which is the student's");
  for (const auto& [taken, other] : models_)
    require(taken != name, "two hooks asked to validate a model under the name '{}'; give one of them another name", name);
  models_.emplace_back(name, std::move(model));
}

bool ValidationStage::due(const TrainSection& train, const TrainState& state) {
  const std::int64_t every_epochs = train.eval_every_epochs * state.batches_per_epoch;
  return (train.eval_every > 0 && state.iteration % train.eval_every == 0) ||
         (every_epochs > 0 && state.iteration % every_epochs == 0) || state.iteration == state.total_iterations;
}

double ValidationStage::run(Run& run, const std::function<void(const ValidationResult&)>& observe) {
  EvaluationOutputs outputs;
  outputs.workers = static_cast<int>(run.train.workers);
  outputs.progress = false;
  if (run.parallel) outputs.collectives = &run.parallel->collectives();
  std::vector<std::pair<std::string, Segmentor*>> models{{"student", run.student.get()}};
  for (const auto& [name, model] : models_) models.emplace_back(name, model.get());
  double student_miou = -1;
  for (const auto& [name, model] : models) {
    const bool was_training = model->is_training();
    if (model == run.student.get()) recompute_batch_norm_statistics(run, *model);
    const EvaluationResult result = evaluate_model(*model, split_, options_, outputs);
    model->train(was_training);
    if (model == run.student.get()) student_miou = result.metrics.miou;
    if (run.writes_outputs()) write_validation(run, name, result);
    observe(ValidationResult{name, run.state.iteration, &result});
  }
  return student_miou;
}

}  // namespace segdistill
