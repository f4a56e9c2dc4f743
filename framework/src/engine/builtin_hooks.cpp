#include "engine/builtin_hooks.hpp"

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
    const double lr = base_lr_ * (schedule_ ? schedule_->factor(trainer.state().iteration) : 1.0);
    auto& groups = trainer.optimizer().param_groups();
    for (std::size_t g = 0; g < groups.size(); ++g) groups[g].options().set_lr(lr * multipliers_[g]);
    trainer.metrics().put("lr", lr, "the LR schedule");
  }

 private:
  double base_lr_;
  std::vector<double> multipliers_;
  std::shared_ptr<LrSchedule> schedule_;
};

// The progress bar and the log's lines; the loop writes metrics.jsonl.
class LoggingHook : public Hook {
 public:
  int priority() const override { return priority::kNormal; }
  void before_run(Trainer& trainer) override {
    if (trainer.writes_outputs() && trainer.shows_progress())
      bar_ = std::make_unique<ProgressBar>("train", trainer.state().total_iterations);
  }
  void after_record(Trainer& trainer, const IterationRecord& record) override {
    if (!trainer.writes_outputs()) return;
    std::ostringstream note;
    note.precision(4);
    // The bar shows the totals; a distiller's terms go to metrics.jsonl.
    for (const auto& [name, value] : *record.values)
      if (name.rfind("loss", 0) == 0 && name.find('.') == std::string::npos) note << name << " " << value << "  ";
    const auto value = [&](const char* name) {
      const auto it = record.values->find(name);
      return it == record.values->end() ? 0.0 : it->second;
    };
    note << "lr " << value("lr") << "  " << static_cast<int>(value("images_per_second") * 10) / 10.0 << " img/s";
    if (bar_) bar_->update(record.iteration, note.str());
    if (record.logged) logger()->debug("iter {}/{}: {}", record.iteration, trainer.state().total_iterations, note.str());
  }
  void after_run(Trainer&) override {
    if (bar_) bar_->finish();
  }

 private:
  std::unique_ptr<ProgressBar> bar_;
};

class BestCheckpointHook : public Hook {
 public:
  int priority() const override { return priority::kLow; }
  void after_validation(Trainer& trainer, const ValidationResult& validation) override {
    if (!validation.is_student()) return;
    const Metrics& metrics = validation.result->metrics;
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
std::shared_ptr<Hook> make_best_checkpoint_hook() { return std::make_shared<BestCheckpointHook>(); }

}  // namespace segdistill
