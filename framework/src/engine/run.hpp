#pragma once
// Everything one training run holds, built by set_up() (setup.cpp) and driven by the loop
// in trainer.cpp. Private to the engine: hooks see a run through the public Trainer.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "engine/data_parallel.hpp"
#include "engine/loss_scaler.hpp"
#include "engine/validation_stage.hpp"
#include "engine/work_dir.hpp"
#include "segdistill/config/config.hpp"
#include "segdistill/data/loader.hpp"
#include "segdistill/data/sections.hpp"
#include "segdistill/distill/assembly.hpp"
#include "segdistill/engine/hook.hpp"
#include "segdistill/engine/loss.hpp"
#include "segdistill/engine/train_section.hpp"
#include "segdistill/engine/trainer.hpp"
#include "segdistill/evaluation/inference.hpp"
#include "segdistill/modeling/segmentor.hpp"
#include "segdistill/runtime/precision.hpp"

namespace segdistill {

// A hook and where it runs; `name` keys its state in checkpoints (hooks/<name>.<key>).
struct HookEntry {
  std::string name;
  int priority = priority::kNormal;
  std::shared_ptr<Hook> hook;
  // A [[hooks]] entry: a resume whose checkpoint holds none of its state says so (a
  // built-in with state, best_checkpoint, finds its own in every checkpoint of its run).
  bool from_config = false;
};

// A data-parallel run's collectives are current (SyncBatchNorm) for its length only.
class CollectivesScope {
 public:
  CollectivesScope(std::shared_ptr<Collectives> collectives, bool sync_bn);
  ~CollectivesScope();
  CollectivesScope(const CollectivesScope&) = delete;
  CollectivesScope& operator=(const CollectivesScope&) = delete;
};

struct Run {
  Config config;
  TrainOptions options;
  TrainSection train;
  std::string work_dir;
  torch::Device device{torch::kCPU};
  Precision precision = Precision::kFp32;  // train.precision as this device runs it
  // Each network's memory format, chosen once at set-up (train.channels_last; grouped
  // convolutions in CPU bf16 stay NCHW): the step converts its input to match.
  bool student_channels_last = false, teacher_channels_last = false;
  LossScaler scaler;  // fp16 only
  std::unique_ptr<WorkDir> work;
  std::shared_ptr<Segmentor> student, teacher;
  bool teacher_train_mode = false;
  std::shared_ptr<torch::nn::Module> distiller_container = std::make_shared<torch::nn::Module>();
  std::vector<AssembledDistiller> distillers;
  // The features the distillers read: the only ones handed to them in fp32.
  std::vector<std::string> distilled_student_features, distilled_teacher_features;
  SharedModules shared;
  std::shared_ptr<Loss> loss;
  std::unique_ptr<torch::optim::Optimizer> optimizer;  // SGD or AdamW (train.optimizer.type)
  std::unique_ptr<DataLoader> loader;
  std::vector<HookEntry> hooks;  // sorted by priority, stable
  TrainState state;
  std::string last_checkpoint;
  std::int64_t last_checkpoint_iteration = -1;  // the iteration of last_checkpoint; -1: none yet
  std::unique_ptr<DataParallel> parallel;       // null in a single-process run
  std::unique_ptr<CollectivesScope> collectives_scope;
  int rank = 0, world_size = 1;
  std::int64_t ignore_index = 255;  // data.ignore_index, for the distillers that take labels
  // Built once at set-up, so that a bad val split fails there and every validation reads
  // the same list (not the file as it is at that moment). Null: no [data.val] split.
  std::unique_ptr<ValidationStage> validation;
  double last_miou = -1;     // the student's, of the last validation
  IterationMetrics metrics;  // this iteration's values
  // A resumed checkpoint's hook states ("hooks" group), handed to the hooks after before_run.
  TensorDict resumed_hook_states;

  explicit Run(const Config& c) : config(c) {}
  bool writes_outputs() const { return rank == 0; }
};

// The networks of a run: the student (with its initial weights unless resuming), the
// teacher (its checkpoint), the distillers, all drawn from train.seed, then reseeds the
// training randomness. Needs run.config, run.train, run.options and run.device.
void build_networks(Run& run);

// Builds the run: everything that can fail on the user's input fails here, before the
// first iteration. Resumes from the work dir's latest checkpoint with --resume.
std::unique_ptr<Run> set_up(const Config& config, const TrainOptions& options);

// Checkpoints of a run (run_checkpoint.cpp).
Checkpoint make_checkpoint(Run& run);
void restore(Run& run, const std::string& path);
// Writes the checkpoint of the current iteration (rank 0) and makes it the latest.
void save(Run& run);
// Hands each hook its state from the resumed checkpoint (after before_run: a hook builds
// what the state is loaded into there).
void restore_hook_states(Run& run);

}  // namespace segdistill
