#include "engine/builtin_hooks.hpp"

#include <chrono>
#include <fstream>
#include <sstream>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.hpp"
#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/core/check.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/core/progress.hpp"
#include "segdistill/engine/train_section.hpp"
#include "segdistill/evaluation/evaluation.hpp"
#include "segdistill/modeling/segmentor.hpp"

namespace segdistill {

namespace {

class LrHook : public Hook {
 public:
  LrHook(double base_lr, std::vector<double> group_multipliers, std::shared_ptr<LrSchedule> schedule)
      : base_lr_(base_lr), multipliers_(std::move(group_multipliers)), schedule_(std::move(schedule)) {}
  int priority() const override { return priority::kVeryHigh; }
  void before_iteration(Trainer& trainer) override {
    TrainState& state = trainer.state();
    state.lr = base_lr_ * (schedule_ ? schedule_->factor(state.iteration) : 1.0);
    auto& groups = trainer.optimizer().param_groups();
    for (std::size_t g = 0; g < groups.size(); ++g) groups[g].options().set_lr(state.lr * multipliers_[g]);
  }

 private:
  double base_lr_;
  std::vector<double> multipliers_;
  std::shared_ptr<LrSchedule> schedule_;
};

class LoggingHook : public Hook {
 public:
  int priority() const override { return priority::kNormal; }
  void before_run(Trainer& trainer) override {
    if (trainer.writes_outputs() && trainer.shows_progress())
      bar_ = std::make_unique<ProgressBar>("train", trainer.state().total_iterations);
    since_ = std::chrono::steady_clock::now();
  }
  void after_iteration(Trainer& trainer) override {
    if (!trainer.writes_outputs()) return;
    TrainState& s = trainer.state();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - since_).count();
    images_ += trainer.settings().batch_size;
    s.images_per_second = seconds > 0 ? static_cast<double>(images_) / seconds : 0;
    std::ostringstream note;
    note.precision(4);
    // The bar shows the totals; a distiller's terms go to metrics.jsonl.
    for (const auto& [name, value] : s.losses)
      if (name.find('.') == std::string::npos) note << name << " " << value << "  ";
    note << "lr " << s.lr << "  " << static_cast<int>(s.images_per_second * 10) / 10.0 << " img/s";
    if (bar_) bar_->update(s.iteration, note.str());
    if (s.iteration % trainer.settings().log_every == 0 || s.iteration == s.total_iterations) {
      nlohmann::json record{
          {"type", "train"}, {"iter", s.iteration}, {"epoch", s.epoch}, {"lr", s.lr}, {"images_per_second", s.images_per_second}};
      for (const auto& [name, value] : s.losses) record[name] = value;
      trainer.write_metrics(record);
      logger()->debug("iter {}/{}: {}", s.iteration, s.total_iterations, note.str());
    }
  }
  void after_run(Trainer&) override {
    if (bar_) bar_->finish();
  }

 private:
  std::unique_ptr<ProgressBar> bar_;
  std::chrono::steady_clock::time_point since_;
  std::int64_t images_ = 0;
};

class EvaluationHook : public Hook {
 public:
  // Before the checkpoint: what an iteration records is on disk before its checkpoint,
  // so a run killed in between redoes it on resume instead of losing it.
  int priority() const override { return priority::kBelowNormal; }
  void after_iteration(Trainer& trainer) override {
    const TrainState& s = trainer.state();
    const std::int64_t every = trainer.settings().eval_every;
    const std::int64_t every_epochs = trainer.settings().eval_every_epochs * s.batches_per_epoch;
    if ((every > 0 && s.iteration % every == 0) || (every_epochs > 0 && s.iteration % every_epochs == 0) ||
        s.iteration == s.total_iterations)
      validate(trainer);
  }

 private:
  void validate(Trainer& trainer) {
    const std::int64_t iteration = trainer.state().iteration;
    if (!trainer.has_validation()) {
      if (iteration == trainer.state().total_iterations) logger()->info("no [data.val]: no validation");
      return;
    }
    const EvaluationResult r = trainer.evaluate(trainer.student());
    if (trainer.writes_outputs()) {
      const std::string table = format_metrics(r.metrics, r.class_names);
      logger()->info("validation at iteration {}:\n{}", iteration, table);
      const std::string name = "eval/iter_" + std::to_string(iteration);
      write_file_atomically(trainer.output_path(name + ".txt"), std::vector<char>(table.begin(), table.end()),
                            "validation table");
      nlohmann::json report = metrics_to_json(r.metrics, r.class_names);
      report["iter"] = iteration;
      report["confusion_matrix"] = r.evaluator.confusion();
      const std::string json = report.dump(2) + "\n";
      write_file_atomically(trainer.output_path(name + ".json"), std::vector<char>(json.begin(), json.end()),
                            "validation report");
      trainer.write_metrics({{"type", "val"},
                             {"iter", iteration},
                             {"mIoU", r.metrics.miou},
                             {"mAcc", r.metrics.macc},
                             {"aAcc", r.metrics.aacc},
                             {"fwIoU", r.metrics.fwiou}});
    }
    trainer.publish_evaluation(r.metrics);
  }
};

class CheckpointHook : public Hook {
 public:
  int priority() const override { return priority::kLow; }
  void after_iteration(Trainer& trainer) override {
    const TrainState& s = trainer.state();
    if (s.iteration % trainer.settings().checkpoint_every == 0 || s.iteration == s.total_iterations) trainer.save_checkpoint();
  }
};

class BestCheckpointHook : public Hook {
 public:
  int priority() const override { return priority::kLow; }
  void after_evaluation(Trainer& trainer, const Metrics& metrics) override {
    if (best_iteration_ >= 0 && !(metrics.miou > best_miou_)) return;
    best_miou_ = metrics.miou;
    best_iteration_ = trainer.state().iteration;
    if (!trainer.writes_outputs()) return;
    const Checkpoint checkpoint = model_checkpoint(trainer.student(), trainer.config().to_toml(), best_iteration_);
    save_checkpoint(checkpoint, trainer.output_path("checkpoints/best.pt"));
    const nlohmann::json record{{"iter", best_iteration_},
                                {"mIoU", metrics.miou},
                                {"mAcc", metrics.macc},
                                {"aAcc", metrics.aacc},
                                {"fwIoU", metrics.fwiou}};
    const std::string text = record.dump(2) + "\n";
    write_file_atomically(trainer.output_path("checkpoints/best.json"), std::vector<char>(text.begin(), text.end()),
                          "the best checkpoint's record");
    logger()->info("best mIoU so far: {:.2f} at iteration {} (checkpoints/best.pt)", 100 * metrics.miou, best_iteration_);
  }
  TensorDict state_dict() const override {
    if (best_iteration_ < 0) return {};
    return {{"miou", torch::tensor(best_miou_, torch::kDouble)}, {"iteration", torch::tensor(best_iteration_, torch::kLong)}};
  }
  void load_state_dict(const TensorDict& state) override {
    const auto miou = state.find("miou"), iteration = state.find("iteration");
    require(miou != state.end() && iteration != state.end() && miou->second.numel() == 1 && iteration->second.numel() == 1,
            "the best checkpoint's state needs 'miou' and 'iteration' scalars");
    best_miou_ = miou->second.item<double>();
    best_iteration_ = iteration->second.item<std::int64_t>();
  }

 private:
  double best_miou_ = -1;
  std::int64_t best_iteration_ = -1;
};

}  // namespace

std::shared_ptr<Hook> make_lr_hook(double base_lr, std::vector<double> group_multipliers, std::shared_ptr<LrSchedule> schedule) {
  return std::make_shared<LrHook>(base_lr, std::move(group_multipliers), std::move(schedule));
}
std::shared_ptr<Hook> make_logging_hook() { return std::make_shared<LoggingHook>(); }
std::shared_ptr<Hook> make_evaluation_hook() { return std::make_shared<EvaluationHook>(); }
std::shared_ptr<Hook> make_checkpoint_hook() { return std::make_shared<CheckpointHook>(); }
std::shared_ptr<Hook> make_best_checkpoint_hook() { return std::make_shared<BestCheckpointHook>(); }

}  // namespace segdistill
