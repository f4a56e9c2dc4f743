// Example hook plugin: an exponential moving average (EMA) of the student's weights,
//   ema = decay * ema + (1 - decay) * student   after every `every` iterations,
// validated by the run's validation stage whenever the student is (a "val_ema" record in
// metrics.jsonl, tables in eval/ema/) and saved at the end as WORK_DIR/ema/iter_N.pt, a
// checkpoint `segdistill eval` reads. Its state travels in the run's checkpoints, so
// --resume continues the average exactly.
//
// A complete hook in one file, written against the SDK alone; the guide in
// plugins/examples/README.md walks through it.
#include <unordered_set>

#include <torch/torch.h>

#include "segdistill/sdk.hpp"

namespace segdistill_example {

using namespace segdistill;

struct EmaOptions {
  double decay;
  std::int64_t every;
  std::int64_t start;
  bool evaluate;
  bool save;
  static void declare(Schema<EmaOptions>& s) {
    s.field("decay", &EmaOptions::decay, "weight of the running average at each update").default_value(0.999).range(0, 1);
    s.field("every", &EmaOptions::every, "iterations between updates").default_value(1).at_least(1);
    s.field("start", &EmaOptions::start, "iteration of the first update; the average copies the student before")
        .default_value(0)
        .at_least(0);
    s.field("evaluate", &EmaOptions::evaluate, "validate the average whenever the student is validated (with a [data.val])")
        .default_value(true);
    s.field("save", &EmaOptions::save, "write WORK_DIR/ema/iter_N.pt at the end").default_value(true);
  }
};

class EmaHook : public Hook {
 public:
  EmaHook(const EmaOptions& options, const HookContext& context) : options_(options), config_key_(context.config_key) {}

  // After the LR hook, before logging: the average is current when the iteration is logged.
  int priority() const override { return priority::kAboveNormal; }

  void before_run(Trainer& trainer) override {
    average_ = build_copy(trainer);
    pair_up(trainer.student());
    copy_from();
    if (options_.evaluate && trainer.has_validation()) trainer.validate_also("ema", average_);
  }

  void after_iteration(Trainer& trainer) override {
    const std::int64_t iteration = trainer.state().iteration;
    if (iteration < options_.start) return copy_from();
    if ((iteration - options_.start) % options_.every == 0) update();
  }

  void after_run(Trainer& trainer) override {
    if (!options_.save || !trainer.writes_outputs()) return;
    const Checkpoint checkpoint = model_checkpoint(*average_, trainer.config().to_toml(), trainer.state().iteration);
    const std::string path = trainer.output_path("ema/iter_" + std::to_string(checkpoint.iteration) + ".pt");
    save_checkpoint(checkpoint, path);
    logger()->info("EMA weights: {}", path);
  }

  TensorDict state_dict() const override { return segdistill::state_dict(*average_); }
  // On --resume, after before_run built the average.
  void load_state_dict(const TensorDict& state) override {
    segdistill::load_state_dict(*average_, state, config_key_ + " (EMA state in the resumed checkpoint)");
  }

 private:
  // A second network of the student's architecture. Building draws initial weights from
  // the global generator, which training's dropout and data order also use: its state is
  // put back, so adding this hook leaves the student's training bit for bit unchanged.
  std::shared_ptr<Segmentor> build_copy(Trainer& trainer) const {
    std::shared_ptr<Segmentor> copy;
    {
      RandomStateGuard keep_the_training_stream;
      copy = build_network(trainer.config(), "model");
    }
    for (auto& p : copy->parameters()) p.set_requires_grad(false);
    copy->to(trainer.student().parameters().front().device());
    copy->eval();
    return copy;
  }

  void copy_from() {
    torch::NoGradGuard no_grad;
    for (auto& pair : pairs_) pair.average.copy_(pair.value);
  }

  // Parameters are averaged; buffers (BatchNorm statistics) are copied, as they are
  // statistics of the current weights, not weights.
  void update() {
    torch::NoGradGuard no_grad;
    for (auto& pair : pairs_) {
      if (pair.parameter && pair.average.is_floating_point())
        pair.average.mul_(options_.decay).add_(pair.value, 1 - options_.decay);
      else
        pair.average.copy_(pair.value);
    }
  }

  // Each tensor of the average with the student's tensor of the same name, once each (a
  // network may register one module under several names). Found once: the optimizer
  // updates the student's tensors in place, so the pairs stay valid for the run.
  void pair_up(Segmentor& student) {
    pairs_.clear();
    std::unordered_set<const void*> seen;
    const auto visit = [&](const torch::OrderedDict<std::string, at::Tensor>& averages,
                           const torch::OrderedDict<std::string, at::Tensor>& values, bool parameters) {
      for (const auto& item : values) {
        const at::Tensor* average = averages.find(item.key());
        if (!average || !seen.insert(average->unsafeGetTensorImpl()).second) continue;
        pairs_.push_back({*average, item.value(), parameters});
      }
    };
    visit(average_->named_parameters(), student.named_parameters(), true);
    visit(average_->named_buffers(), student.named_buffers(), false);
  }

  struct Pair {
    at::Tensor average, value;
    bool parameter;
  };

  EmaOptions options_;
  std::string config_key_;
  std::shared_ptr<Segmentor> average_;
  std::vector<Pair> pairs_;
};

void register_ema(PluginRegistrar& registrar) {
  registrar.add_class<EmaHook, EmaOptions>(hooks(), "ema",
                                           "exponential moving average of the student's weights, validated and saved");
}

}  // namespace segdistill_example

SEGDISTILL_PLUGIN("example_ema", "1.0.0", segdistill_example::register_ema)
