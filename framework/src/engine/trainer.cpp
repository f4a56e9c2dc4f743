#include "segdistill/engine/trainer.hpp"

#include <ATen/record_function.h>

#include <chrono>
#include <csignal>

#include <nlohmann/json.hpp>

#include "engine/run.hpp"
#include "engine/step.hpp"
#include "segdistill/core/check.hpp"
#include "segdistill/core/log.hpp"

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
  const TrainState& state() const override { return run_.state; }
  IterationMetrics& metrics() override { return run_.metrics; }
  Segmentor& student() override { return *run_.student; }
  torch::optim::Optimizer& optimizer() override { return *run_.optimizer; }
  int rank() const override { return run_.rank; }
  int world_size() const override { return run_.world_size; }
  bool shows_progress() const override { return run_.options.progress; }
  const std::string& work_dir() const override { return run_.work_dir; }
  std::string output_path(const std::string& relative) const override { return run_.work->path(relative); }
  bool has_validation() const override { return run_.validation != nullptr; }
  const DataSplit& validation_split() const override { return stage().split(); }
  const EvalSection& eval_options() const override { return stage().options(); }
  void validate_also(const std::string& name, std::shared_ptr<Segmentor> model) override {
    require(has_validation(), "{}: a hook asked for '{}' to be validated, but there is no [data.val] split", run_.config.path(),
            name);
    run_.validation->add_model(name, std::move(model));
  }

  template <class Point, class... Args>
  void call_hooks(Point point, const Args&... args) {
    for (auto& entry : run_.hooks) ((*entry.hook).*point)(*this, args...);
  }

 private:
  const ValidationStage& stage() const {
    require(has_validation(), "{}: a hook asked for the validation split, but there is no [data.val] split", run_.config.path());
    return *run_.validation;
  }

  Run& run_;
};

// Images per second since training started, as the loop measures it.
class Throughput {
 public:
  Throughput() : since_(std::chrono::steady_clock::now()) {}
  double add(std::int64_t images) {
    images_ += images;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - since_).count();
    return seconds > 0 ? static_cast<double>(images_) / seconds : 0;
  }

 private:
  std::chrono::steady_clock::time_point since_;
  std::int64_t images_ = 0;
};

// The iteration's record, built once: metrics.jsonl (every train.log_every and the last
// iteration, rank 0), then every hook's after_record.
void record_iteration(Run& run, RunTrainer& trainer) {
  const TrainState& s = run.state;
  IterationRecord record{s.iteration, s.epoch, &run.metrics.values(),
                         s.iteration % run.train.log_every == 0 || s.iteration == s.total_iterations};
  if (record.logged && run.writes_outputs()) {
    nlohmann::json line{{"type", "train"}, {"iter", s.iteration}, {"epoch", s.epoch}};
    for (const auto& [name, value] : run.metrics.values()) line[name] = value;
    run.work->append_metrics(line);
  }
  trainer.call_hooks(&Hook::after_record, record);
}

// The loop's stages after the step: the iteration's metrics, after_iteration hooks, the
// record, validation when due, and last the checkpoint when due: it never precedes its
// iteration's records, so a run killed in between redoes them on resume.
void finish_iteration(Run& run, RunTrainer& trainer, const StepResult& step, Throughput& throughput) {
  const TrainState& state = run.state;
  {
    RECORD_USER_SCOPE("segdistill::hooks");
    for (const auto& [name, value] : step.losses) run.metrics.put(name, value, "the training step");
    run.metrics.put("images_per_second", throughput.add(run.train.batch_size), "the training loop");
    trainer.call_hooks(&Hook::after_iteration);
    record_iteration(run, trainer);
  }
  if (run.validation && ValidationStage::due(run.train, state))
    run.last_miou = run.validation->run(run, [&](const ValidationResult& r) { trainer.call_hooks(&Hook::after_validation, r); });
  else if (!run.validation && state.iteration == state.total_iterations)
    logger()->info("no [data.val]: no validation");
  if ((state.iteration % run.train.checkpoint_every == 0 || state.iteration == state.total_iterations) && run.writes_outputs())
    save(run);
}

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
  restore_hook_states(run);
  set_training_modes(run);
  Throughput throughput;
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
    run.metrics.clear();
    trainer.call_hooks(&Hook::before_iteration);
    StepResult step = run_step(run, *batch);
    state.iteration += 1;
    finish_iteration(run, trainer, step, throughput);
    if (run.parallel ? step.stop_requested : stop_signal().load() != 0) stop_after_signal(run);
  }
  trainer.call_hooks(&Hook::after_run);
  TrainSummary summary;
  summary.work_dir = run.work_dir;
  summary.last_checkpoint = run.last_checkpoint;
  summary.iterations = state.iteration;
  summary.final_miou = run.last_miou;
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
