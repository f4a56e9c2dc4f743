#include "segdistill/engine/trainer.hpp"

#include <ATen/record_function.h>

#include <csignal>

#include <nlohmann/json.hpp>

#include "engine/precise_batch_norm.hpp"
#include "engine/run.hpp"
#include "engine/step.hpp"
#include "segdistill/core/check.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/evaluation/evaluation.hpp"
#include "segdistill/evaluation/inference.hpp"

namespace segdistill {

std::atomic<int>& stop_signal() {
  static std::atomic<int> signal{0};
  return signal;
}

void check_batch_split(std::int64_t batch_size, int world_size) {
  require(batch_size % world_size == 0,
          "train.batch_size = {} is not divisible by the {} ranks: the global batch is split evenly over them (use a multiple "
          "of {})",
          batch_size, world_size, world_size);
}

namespace {

// The run as hooks see it.
class RunTrainer : public Trainer {
 public:
  explicit RunTrainer(Run& run) : run_(run) {}

  const Config& config() const override { return run_.config; }
  const TrainSection& settings() const override { return run_.train; }
  TrainState& state() override { return run_.state; }
  Segmentor& student() override { return *run_.student; }
  torch::optim::Optimizer& optimizer() override { return *run_.optimizer; }
  int rank() const override { return run_.rank; }
  int world_size() const override { return run_.world_size; }
  bool shows_progress() const override { return run_.options.progress; }
  const std::string& work_dir() const override { return run_.work_dir; }
  std::string output_path(const std::string& relative) const override { return run_.work->path(relative); }
  void write_metrics(const nlohmann::json& record) override {
    if (run_.writes_outputs()) run_.work->append_metrics(record);
  }
  void save_checkpoint() override {
    if (run_.writes_outputs()) save(run_);
  }
  const std::string& last_checkpoint() const override { return run_.last_checkpoint; }
  bool has_validation() const override { return run_.validation_split.has_value(); }

  EvaluationResult evaluate(Segmentor& model) override {
    require(has_validation(), "{}: a hook asked for validation, but there is no [data.val] split", run_.config.path());
    EvaluationOutputs outputs;
    outputs.workers = static_cast<int>(run_.train.workers);
    outputs.progress = false;
    if (run_.parallel) outputs.collectives = &run_.parallel->collectives();
    if (&model == run_.student.get()) recompute_batch_norm_statistics(run_, model);
    EvaluationResult result = evaluate_model(model, *run_.validation_split, run_.eval_options, outputs);
    model.train();
    return result;
  }

  void publish_evaluation(const Metrics& metrics) override {
    run_.state.last_miou = metrics.miou;
    for (auto& entry : run_.hooks) entry.hook->after_evaluation(*this, metrics);
  }

  template <class Point>
  void call_hooks(Point point) {
    for (auto& entry : run_.hooks) ((*entry.hook).*point)(*this);
  }

 private:
  Run& run_;
};

void set_training_modes(Run& run) {
  run.student->train();
  if (run.teacher) run.teacher_train_mode ? run.teacher->train() : run.teacher->eval();
  run.distiller_container->train();
}

// Every rank stops after the same iteration: in a data-parallel run the request is part
// of the step's agreement.
[[noreturn]] void stop_after_signal(Run& run) {
  const int signal = stop_signal().load() != 0 ? stop_signal().load() : SIGTERM;
  if (run.writes_outputs() && run.last_checkpoint_iteration != run.state.iteration) save(run);
  throw StoppedBySignal("stopped by signal " + std::to_string(signal) + " at iteration " + std::to_string(run.state.iteration) +
                            (run.writes_outputs() ? "; checkpoint " + run.last_checkpoint + " saved" : std::string()) +
                            "; continue with --resume",
                        signal);
}

TrainSummary run_training(const Config& config, const TrainOptions& options) {
  std::unique_ptr<Run> owned = set_up(config, options);
  Run& run = *owned;
  RunTrainer trainer(run);
  TrainState& state = run.state;
  logger()->info("training {} iterations ({} per epoch) on {} in {}", state.total_iterations, state.batches_per_epoch,
                 run.device.str(), run.work_dir);
  trainer.call_hooks(&Hook::before_run);
  set_training_modes(run);
  std::int64_t loader_epoch = -1;
  while (state.iteration < state.total_iterations) {
    state.epoch = state.iteration / state.batches_per_epoch;
    if (state.epoch != loader_epoch) {
      run.loader->start_epoch(state.epoch, static_cast<std::size_t>(state.iteration % state.batches_per_epoch));
      loader_epoch = state.epoch;
    }
    // Phases of the iteration, as tools/bench/step_profile observes them (see engine/step.cpp).
    RECORD_USER_SCOPE("segdistill::iteration");
    std::optional<Batch> batch;
    {
      RECORD_USER_SCOPE("segdistill::loader_wait");
      batch = run.loader->next();
    }
    require(batch.has_value(), "data.train: the epoch ended early (every sample of a batch was skipped as bad)");
    trainer.call_hooks(&Hook::before_iteration);
    StepResult step = run_step(run, *batch);
    state.losses = std::move(step.losses);
    state.iteration += 1;
    {
      RECORD_USER_SCOPE("segdistill::hooks");
      trainer.call_hooks(&Hook::after_iteration);
    }
    if (run.parallel ? step.stop_requested : stop_signal().load() != 0) stop_after_signal(run);
  }
  trainer.call_hooks(&Hook::after_run);
  TrainSummary summary;
  summary.work_dir = run.work_dir;
  summary.last_checkpoint = run.last_checkpoint;
  summary.iterations = state.iteration;
  summary.final_miou = state.last_miou;
  summary.skipped_samples = run.loader->skipped_samples();
  if (summary.skipped_samples) logger()->warn("{} bad samples were skipped", summary.skipped_samples);
  return summary;
}

}  // namespace

TrainSummary train(const Config& config, const TrainOptions& options) {
  require(!(options.resume && options.overwrite),
          "--resume continues the run in the work dir and --overwrite moves it aside: give one of them");
  try {
    return run_training(config, options);
  } catch (const StoppedBySignal&) {
    throw;
  } catch (const std::exception& e) {
    // The console shows it through the command; the run's log.txt keeps it too.
    write_to_log_files(std::string("error: ") + e.what());
    throw;
  }
}

}  // namespace segdistill
