// Building a run from its config: networks, distillers, loss, optimizer, data, hooks,
// collectives and the work dir. Every check that can fail on the user's input runs here,
// before the first iteration.
#include <algorithm>
#include <unordered_set>

#include "engine/builtin_hooks.hpp"
#include "engine/memory_estimate.hpp"
#include "engine/run.hpp"
#include "segdistill/checkpoint/network_weights.hpp"
#include "segdistill/config/sections.hpp"
#include "segdistill/core/check.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/data/sections.hpp"
#include "segdistill/distill/assembly.hpp"
#include "segdistill/modeling/batch_norm.hpp"
#include "segdistill/modeling/fold_batch_norm.hpp"
#include "segdistill/modeling/initial_weights.hpp"
#include "segdistill/plugin/registries.hpp"
#include "segdistill/runtime/channels_last.hpp"
#include "segdistill/runtime/device.hpp"

namespace segdistill {

CollectivesScope::CollectivesScope(std::shared_ptr<Collectives> collectives, bool sync_bn) {
  current_collectives() = std::move(collectives);
  set_batch_norm_sync(sync_bn);
}

CollectivesScope::~CollectivesScope() {
  set_batch_norm_sync(false);
  current_collectives().reset();
}

namespace {

// Parameters that require gradients, each once (MobileNetV2 registers its modules under
// several names: an optimizer must not step the same tensor twice).
std::vector<at::Tensor> unique_trainable(const std::vector<at::Tensor>& parameters, std::unordered_set<const void*>& seen) {
  std::vector<at::Tensor> out;
  for (const auto& p : parameters)
    if (p.requires_grad() && seen.insert(p.unsafeGetTensorImpl()).second) out.push_back(p);
  return out;
}

// The teacher's trained weights: a segdistill checkpoint's student or the published
// teacher's PyTorch file.
void load_teacher_weights(Run& run, const std::string& path) {
  const NetworkWeights weights = read_network_weights(path, "model");
  load_state_dict(*run.teacher, weights.tensors, "teacher.checkpoint " + path);
  logger()->info("teacher weights from {} ({})", path, weights.format);
}

// A name per hook, "_1", "_2" added to repeats: keys of checkpoints.
class UniqueNames {
 public:
  std::string operator()(const std::string& name) {
    const int seen = count_[name]++;
    return seen == 0 ? name : name + "_" + std::to_string(seen);
  }

 private:
  std::map<std::string, int> count_;
};

void build_loss(Run& run, std::int64_t ignore_index) {
  LossContext context;
  context.num_classes = run.student->num_classes();
  context.ignore_index = ignore_index;
  run.loss = run.train.loss.empty() ? losses().create_by_name("cross_entropy", ConfigTable(), context)
                                    : losses().create(run.train.loss, context);
  run.loss->to(run.device);
  if (run.train.aux_weight > 0) {
    const FeatureSpec& aux = run.student->feature_spec(run.train.aux_logits, "train.aux_logits");
    require(aux.channels == context.num_classes, "train.aux_logits: '{}' has {} channels, not the {} classes of the logits",
            run.train.aux_logits, aux.channels, context.num_classes);
  }
}

// Returns each group's LR multiplier, in the optimizer's group order.
std::vector<double> build_optimizer(Run& run, double& base_lr) {
  const OptimizerOptions o = optimizer_options(run.train.optimizer);
  base_lr = o.lr;
  std::unordered_set<const void*> seen;
  // What a distiller steps itself (a discriminator) stays out of this optimizer.
  std::size_t self_stepped = 0;
  for (const auto& d : run.distillers)
    for (const auto& p : d.module->self_stepped_parameters()) self_stepped += seen.insert(p.unsafeGetTensorImpl()).second;
  const auto backbone = unique_trainable(run.student->backbone().parameters(), seen);
  const auto head = unique_trainable(run.student->parameters(), seen);
  const auto distill = unique_trainable(run.distiller_container->parameters(), seen);
  const bool adamw = o.type == "adamw";
  // Each group's options at its LR (the schedule scales them every iteration).
  const auto options_at = [&](double lr) -> std::unique_ptr<torch::optim::OptimizerOptions> {
    if (adamw)
      return std::make_unique<torch::optim::AdamWOptions>(
          torch::optim::AdamWOptions(lr).betas({o.betas[0], o.betas[1]}).eps(o.eps).weight_decay(o.weight_decay));
    return std::make_unique<torch::optim::SGDOptions>(
        torch::optim::SGDOptions(lr).momentum(o.momentum).nesterov(o.nesterov && o.momentum > 0).weight_decay(o.weight_decay));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  std::vector<double> multipliers;
  const auto add = [&](const std::vector<at::Tensor>& params, double mult) {
    if (params.empty()) return;
    groups.emplace_back(params, options_at(o.lr * mult));
    multipliers.push_back(mult);
  };
  add(backbone, 1.0);
  add(head, run.train.head_lr_mult);
  add(distill, run.train.distiller_lr_mult);
  if (adamw)
    run.optimizer = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(o.lr));
  else
    run.optimizer = std::make_unique<torch::optim::SGD>(groups, torch::optim::SGDOptions(o.lr));
  logger()->info("{}: parameters: backbone {}, head {}, distillers {} tensors{}", adamw ? "AdamW" : "SGD", backbone.size(),
                 head.size(), distill.size(),
                 self_stepped > 0 ? fmt::format(" (and {} the distillers step themselves)", self_stepped) : std::string());
  return multipliers;
}

void build_loader(Run& run) {
  LoaderOptions options;
  options.batch_size = run.train.batch_size / run.world_size;
  options.workers = static_cast<int>(run.train.workers);
  options.shuffle = true;
  options.drop_last = true;
  options.seed = static_cast<std::uint64_t>(run.train.seed);
  options.shard_rank = run.rank;
  options.shard_count = run.world_size;
  run.loader = std::make_unique<DataLoader>(build_split(run.config, "train"), options);
  const auto per_epoch = static_cast<std::int64_t>(run.loader->batches_per_epoch());
  require(per_epoch > 0, "data.train has {} samples, fewer than train.batch_size {}", run.loader->split().dataset->size(),
          run.train.batch_size);
  run.state.batches_per_epoch = per_epoch;
  run.state.total_iterations = run.train.iterations > 0 ? run.train.iterations : run.train.epochs * per_epoch;
}

// The built-in hooks and the config's [[hooks]], sorted by priority (stable: built-ins
// first among equals).
void build_hooks(Run& run, double base_lr, std::vector<double> multipliers) {
  std::shared_ptr<LrSchedule> schedule;
  if (!run.train.lr_schedule.empty())
    schedule = lr_schedules().create(run.train.lr_schedule, ScheduleContext{run.state.total_iterations});
  const auto add = [&](std::string name, std::shared_ptr<Hook> hook, std::optional<int> priority, bool from_config) {
    const int p = priority ? *priority : hook->priority();
    run.hooks.push_back({std::move(name), p, std::move(hook), from_config});
  };
  add("lr", make_lr_hook(base_lr, std::move(multipliers), schedule), std::nullopt, false);
  add("logging", make_logging_hook(), std::nullopt, false);
  if (run.train.save_best) add("best_checkpoint", make_best_checkpoint_hook(), std::nullopt, false);
  if (run.train.tensorboard) add("tensorboard", make_tensorboard_hook(), std::nullopt, false);
  UniqueNames unique;
  for (const char* builtin : {"lr", "logging", "best_checkpoint", "tensorboard"}) unique(builtin);
  const auto tables = run.config.root().tables("hooks");
  for (std::size_t i = 0; i < tables.size(); ++i) {
    HookContext context{"hooks." + std::to_string(i)};
    add(unique(tables[i].string("type")), hooks().create(tables[i], context), read_hook_priority(tables[i]), true);
  }
  std::stable_sort(run.hooks.begin(), run.hooks.end(),
                   [](const HookEntry& a, const HookEntry& b) { return a.priority < b.priority; });
}

void connect_ranks(Run& run) {
  CollectivesOptions options;
  options.backend = run.train.dist_backend;
  options.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(run.train.dist_timeout * 1000));
  options.cuda = run.device.is_cuda();
  auto collectives = Collectives::connect(*run.options.world, options);
  std::vector<at::Tensor> parameters;
  for (const auto& group : run.optimizer->param_groups())
    for (const auto& p : group.params()) parameters.push_back(p);
  run.parallel =
      std::make_unique<DataParallel>(collectives, parameters, static_cast<std::size_t>(run.train.dist_bucket_mb * 1024 * 1024));
  run.collectives_scope = std::make_unique<CollectivesScope>(collectives, run.train.sync_bn);
  logger()->info("rank {} of {} ({}), {} images per rank and iteration{}", run.rank, run.world_size, collectives->backend(),
                 run.train.batch_size / run.world_size, run.train.sync_bn ? ", synchronised BatchNorm" : "");
}

// The work dir, resumed or new. Nothing of it is written before a resume passed its checks.
void open_work_dir(Run& run) {
  const WorkDirMode mode = !run.writes_outputs()   ? WorkDirMode::Follower
                           : run.options.resume    ? WorkDirMode::Resume
                           : run.options.overwrite ? WorkDirMode::Overwrite
                                                   : WorkDirMode::Fresh;
  run.work = std::make_unique<WorkDir>(run.work_dir, mode);
  std::optional<std::int64_t> resumed_at;
  if (run.options.resume) {
    const auto latest = run.work->latest_checkpoint();
    require(latest.has_value(), "--resume: no checkpoint in {} (run without --resume to start)", run.work->path("checkpoints"));
    restore(run, *latest);
    resumed_at = run.state.iteration;
  }
  if (run.writes_outputs()) {
    add_log_file(run.work->path("log.txt"));
    run.config.save(run.work->path("config.toml"));
    run.work->open_metrics(resumed_at);
  }
  if (resumed_at) logger()->info("resumed from {} at iteration {}", run.last_checkpoint, *resumed_at);
}

}  // namespace

void build_networks(Run& run) {
  torch::manual_seed(static_cast<std::uint64_t>(run.train.seed));
  // A resumed run takes every weight from its checkpoint: the files the networks started
  // from need not be there any more.
  const bool initial_weights = !run.options.resume;
  run.student = build_network(run.config, "model");
  if (initial_weights) load_initial_weights(*run.student, run.config, "model");
  if (run.config.root().contains("teacher")) {
    const TeacherSection section = parse_options<TeacherSection>(run.config.root().table("teacher"));
    run.teacher = build_network(run.config, "teacher");
    if (initial_weights) load_initial_weights(*run.teacher, run.config, "teacher");
    if (section.checkpoint)
      load_teacher_weights(run, *section.checkpoint);
    else
      logger()->warn("teacher.checkpoint is not set: the teacher keeps its random initial weights");
    for (auto& p : run.teacher->parameters()) p.set_requires_grad(false);
    run.teacher_train_mode = section.mode == "train";
    // A teacher that only infers runs with its BatchNorm folded into its convolutions.
    if (!run.teacher_train_mode) {
      if (const auto folded = fold_batch_norms(*run.teacher); folded > 0)
        logger()->info("teacher: {} BatchNorm layers folded into their convolutions", folded);
    }
  }
  require(run.config.root().tables("distillers").empty() || run.teacher != nullptr, "{}: [[distillers]] need a [teacher]",
          run.config.path());
  if (run.teacher)
    run.distillers = build_distillers(run.config, *run.student, *run.teacher, run.shared,
                                      DistillerRunFacts{run.ignore_index, static_cast<std::uint64_t>(run.train.seed)});
  for (std::size_t i = 0; i < run.distillers.size(); ++i) {
    const AssembledDistiller& d = run.distillers[i];
    run.distiller_container->register_module(std::to_string(i), d.module);
    for (const auto& name : d.student_features) run.distilled_student_features.push_back(name);
    for (const auto& name : d.teacher_features) run.distilled_teacher_features.push_back(name);
  }
  run.student->to(run.device);
  if (run.teacher) run.teacher->to(run.device);
  run.distiller_container->to(run.device);
  if (run.train.channels_last) {
    for (Segmentor* network : {run.student.get(), run.teacher.get()}) {
      if (network == nullptr) continue;
      const bool student = network == run.student.get();
      if (const std::string why = channels_last_training_hazard(*network, run.precision, run.device); !why.empty()) {
        logger()->info("train.channels_last: the {} runs NCHW: {}", student ? "student" : "teacher", why);
        continue;
      }
      use_channels_last(*network);
      (student ? run.student_channels_last : run.teacher_channels_last) = true;
    }
  }
  // Training randomness (dropout) gets a stream of its own: building a teacher and
  // distillers draws random numbers too, and a distillation run must not train its
  // student with other dropout masks than the same run without a teacher.
  torch::manual_seed(static_cast<std::uint64_t>(run.train.seed) ^ 0x9e3779b97f4a7c15ULL);
}

std::unique_ptr<Run> set_up(const Config& config, const TrainOptions& options) {
  auto run = std::make_unique<Run>(config);
  run->options = options;
  require(config.root().contains("train"), "{}: no [train] section", config.path());
  run->train = parse_options<TrainSection>(config.root().table("train"));
  require(run->train.iterations > 0 || run->train.epochs > 0, "{}: set train.iterations or train.epochs (both are 0)",
          config.path());
  run->work_dir = !options.work_dir.empty() ? options.work_dir : run->train.work_dir;
  require(!run->work_dir.empty(), "no work dir: give --work-dir DIR or set train.work_dir");
  run->device = resolve_device(options.device);
  run->precision = effective_precision(parse_precision(run->train.precision, "train.precision"), run->device, "train.precision");
  run->scaler = LossScaler(run->precision == Precision::kFp16);
  if (options.world) {
    run->rank = options.world->rank;
    run->world_size = options.world->world_size;
    // One GPU per process of a machine.
    if (run->device.is_cuda() && !run->device.has_index()) run->device = torch::Device(torch::kCUDA, options.world->local_rank);
    check_batch_split(run->train.batch_size, run->world_size);
  }

  validate_config(config);
  const DataSection data = parse_options<DataSection>(config.root().table("data"));
  run->ignore_index = data.ignore_index;
  build_networks(*run);
  check_classes_fit(config, run->student->num_classes(), "model.num_classes");
  check_training_memory(*run);
  build_loss(*run, data.ignore_index);
  double base_lr = 0;
  std::vector<double> multipliers = build_optimizer(*run, base_lr);
  build_loader(*run);
  const auto splits = configured_splits(config);
  const bool has_val = std::find(splits.begin(), splits.end(), "val") != splits.end();
  require(run->train.eval_every == 0 || has_val, "{}: train.eval_every is set but there is no [data.val] split", config.path());
  require(run->train.eval_every_epochs == 0 || has_val, "{}: train.eval_every_epochs is set but there is no [data.val] split",
          config.path());
  require(!run->train.save_best || has_val, "{}: train.save_best keeps the best validation, but there is no [data.val] split",
          config.path());
  if (has_val) run->validation = std::make_unique<ValidationStage>(build_split(config, "val"), eval_options(config));
  build_hooks(*run, base_lr, std::move(multipliers));
  if (options.world) connect_ranks(*run);
  open_work_dir(*run);
  // The same starting point on every rank, also after a resume at another world size.
  if (run->parallel) run->parallel->broadcast_state({run->student.get(), run->distiller_container.get()});
  return run;
}

}  // namespace segdistill
