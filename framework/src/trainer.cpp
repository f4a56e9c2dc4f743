#include "segdistill/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <unordered_set>

#include <torch/torch.h>

#include "config_diff.hpp"
#include "data_parallel.hpp"
#include "optimizer_state.hpp"
#include "segdistill/batch_norm.hpp"
#include "segdistill/checkpoint.hpp"
#include "segdistill/closest_match.hpp"
#include "segdistill/config_sections.hpp"
#include "segdistill/data_loader.hpp"
#include "segdistill/distiller.hpp"
#include "segdistill/evaluation.hpp"
#include "segdistill/hook.hpp"
#include "segdistill/log.hpp"
#include "segdistill/lr_schedule.hpp"
#include "segdistill/progress.hpp"
#include "segdistill/pytorch_checkpoint.hpp"
#include "segdistill/registries.hpp"
#include "segdistill/segmentor.hpp"
#include "segdistill/train_section.hpp"
#include "work_dir.hpp"

namespace fs = std::filesystem;

namespace segdistill {

std::atomic<int>& stop_signal() {
  static std::atomic<int> signal{0};
  return signal;
}

namespace {

torch::Device pick_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  try {
    torch::Device device(name);
    if (device.is_cuda() && !torch::cuda::is_available())
      throw Error("--device " + name + ": this LibTorch has no CUDA device available (use --device cpu)");
    return device;
  } catch (const c10::Error&) {
    throw Error("--device: invalid device '" + name + "'; valid: auto, cpu, cuda, cuda:N");
  }
}

// Parameters that require gradients, each once (MobileNetV2 registers its modules under
// several names: an optimizer must not step the same tensor twice).
std::vector<at::Tensor> unique_trainable(const std::vector<at::Tensor>& parameters, std::unordered_set<const void*>& seen) {
  std::vector<at::Tensor> out;
  for (const auto& p : parameters)
    if (p.requires_grad() && seen.insert(p.unsafeGetTensorImpl()).second) out.push_back(p);
  return out;
}

struct DistillerEntry {
  std::string loss_name;
  std::string student_feature, teacher_feature;
  double weight;
  std::shared_ptr<Distiller> module;
};

// Everything a run holds.
struct Run {
  Config config;
  TrainOptions options;
  TrainSection train;
  torch::Device device{torch::kCPU};
  std::unique_ptr<WorkDir> work;
  std::shared_ptr<Segmentor> student, teacher;
  bool teacher_train_mode = false;
  std::shared_ptr<torch::nn::Module> distiller_container = std::make_shared<torch::nn::Module>();
  std::vector<DistillerEntry> distillers;
  SharedModules shared;
  std::unique_ptr<torch::optim::SGD> optimizer;
  std::vector<double> group_mults;
  double base_lr = 0;
  std::shared_ptr<LrSchedule> schedule;
  std::unique_ptr<DataLoader> loader;
  at::Tensor class_weights;
  std::int64_t ignore_index = 255;
  std::int64_t total = 0;
  std::string last_checkpoint;
  TrainContext context;
  std::unique_ptr<DataParallel> parallel;  // null in a single-process run
  int rank = 0, world_size = 1;

  explicit Run(const Config& c) : config(c) {}
  bool writes_outputs() const { return rank == 0; }
};

// A data-parallel run's collectives are current (SyncBatchNorm) for its length only.
class CollectivesScope {
 public:
  CollectivesScope(std::shared_ptr<Collectives> collectives, bool sync_bn) {
    current_collectives() = std::move(collectives);
    set_batch_norm_sync(sync_bn);
  }
  ~CollectivesScope() {
    set_batch_norm_sync(false);
    current_collectives().reset();
  }
  CollectivesScope(const CollectivesScope&) = delete;
  CollectivesScope& operator=(const CollectivesScope&) = delete;
};

void load_teacher_weights(Run& run, const std::string& path) {
  TensorDict tensors;
  std::string format;
  try {
    const Checkpoint checkpoint = load_checkpoint(path);
    auto group = checkpoint.groups.find("model");
    if (group == checkpoint.groups.end()) throw Error(path + ": the checkpoint holds no model weights");
    tensors = group->second;
    format = "segdistill checkpoint";
  } catch (const Error& not_ours) {
    // A PyTorch state dict as users have it (the published teacher).
    const std::string message = not_ours.what();
    if (message.find("not a segdistill checkpoint") == std::string::npos) throw;
    PyTorchStateDict file = read_pytorch_state_dict(path);
    tensors = std::move(file.tensors);
    format = "PyTorch " + file.format;
  }
  load_state_dict(*run.teacher, tensors, "teacher.checkpoint " + path);
  logger()->info("teacher weights from {} ({})", path, format);
}

void build_networks(Run& run) {
  torch::manual_seed(static_cast<std::uint64_t>(run.train.seed));
  run.student = build_network(run.config, "model");
  if (run.config.root().contains("teacher")) {
    const TeacherSection section = parse_options<TeacherSection>(run.config.root().table("teacher"));
    run.teacher = build_network(run.config, "teacher");
    if (section.checkpoint) load_teacher_weights(run, *section.checkpoint);
    else logger()->warn("teacher.checkpoint is not set: the teacher keeps its random initial weights");
    for (auto& p : run.teacher->parameters()) p.set_requires_grad(false);
    run.teacher_train_mode = section.mode == "train";
  }
  const auto tables = run.config.root().tables("distillers");
  if (!tables.empty() && !run.teacher) throw Error(run.config.path() + ": [[distillers]] need a [teacher]");
  std::map<std::string, int> names;
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const std::string key = "distillers." + std::to_string(i);
    const DistillerKeys keys = read_distiller_keys(tables[i]);
    DistillerContext context;
    context.config_key = key;
    context.student = run.student->feature_spec(keys.student_feature, key + ".student_feature (student)");
    context.teacher = run.teacher->feature_spec(keys.teacher_feature, key + ".teacher_feature (teacher)");
    context.num_classes = run.student->num_classes();
    context.shared = &run.shared;
    auto module = distillers().create(tables[i], context);
    run.distiller_container->register_module(std::to_string(i), module);
    std::string name = keys.name ? *keys.name : tables[i].string("type");
    if (names[name]++ > 0) name += "_" + std::to_string(names[name] - 1);
    run.distillers.push_back({"loss_" + name, keys.student_feature, keys.teacher_feature, keys.weight, module});
  }
  run.student->to(run.device);
  if (run.teacher) run.teacher->to(run.device);
  run.distiller_container->to(run.device);
  // Training randomness (dropout) gets a stream of its own: building a teacher and
  // distillers draws random numbers too, and a distillation run must not train its
  // student with other dropout masks than the same run without a teacher.
  torch::manual_seed(static_cast<std::uint64_t>(run.train.seed) ^ 0x9e3779b97f4a7c15ULL);
}

void build_optimizer(Run& run) {
  const OptimizerOptions o = parse_options<OptimizerOptions>(run.train.optimizer);
  run.base_lr = o.lr;
  std::unordered_set<const void*> seen;
  const auto backbone = unique_trainable(run.student->backbone().parameters(), seen);
  const auto head = unique_trainable(run.student->parameters(), seen);
  const auto distill = unique_trainable(run.distiller_container->parameters(), seen);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  const auto add = [&](const std::vector<at::Tensor>& params, double mult) {
    if (params.empty()) return;
    auto options = std::make_unique<torch::optim::SGDOptions>(o.lr * mult);
    options->momentum(o.momentum).nesterov(o.nesterov && o.momentum > 0).weight_decay(o.weight_decay);
    groups.emplace_back(params, std::move(options));
    run.group_mults.push_back(mult);
  };
  add(backbone, 1.0);
  add(head, run.train.head_lr_mult);
  add(distill, run.train.distiller_lr_mult);
  run.optimizer = std::make_unique<torch::optim::SGD>(groups, torch::optim::SGDOptions(o.lr));
  logger()->info("parameters: backbone {}, head {}, distillers {} tensors", backbone.size(), head.size(), distill.size());
}

void set_lr(Run& run, std::int64_t iteration) {
  const double factor = run.schedule ? run.schedule->factor(iteration) : 1.0;
  run.context.lr = run.base_lr * factor;
  auto& groups = run.optimizer->param_groups();
  for (std::size_t g = 0; g < groups.size(); ++g)
    static_cast<torch::optim::SGDOptions&>(groups[g].options()).lr(run.context.lr * run.group_mults[g]);
}

// Keys whose change leaves a resumed run exactly the run it was: where outputs go, how
// often they are written, validation, data-loading threads, the collectives' transport.
bool change_keeps_exactness(const std::string& key) {
  static const char* const free_keys[] = {"train.log_every", "train.checkpoint_every", "train.keep_last", "train.eval_every",
                                          "train.work_dir",  "train.workers",          "train.dist_backend",
                                          "train.dist_timeout", "train.dist_bucket_mb", "eval", "plugins", "data.val"};
  for (const std::string prefix : free_keys)
    if (key == prefix || key.rfind(prefix + ".", 0) == 0) return true;
  return false;
}

// A resumed run continues exactly only with the config it was started with.
void check_resumed_config(const Run& run, const Checkpoint& checkpoint, const std::string& path) {
  auto saved = checkpoint.text.find("config");
  if (saved == checkpoint.text.end()) throw Error(path + ": the checkpoint holds no config (not a training checkpoint?)");
  std::vector<std::string> breaking, harmless;
  for (const auto& change : config_changes(saved->second, run.config.to_toml(), path)) {
    const std::string line = change.key + ": " + change.before + " -> " + change.after;
    (change_keeps_exactness(change.key) ? harmless : breaking).push_back(line);
  }
  for (const auto& line : harmless) logger()->info("resume: config changed (harmless): {}", line);
  if (breaking.empty()) return;
  if (!run.options.resume_changed)
    throw Error("--resume: the config differs from the one " + path + " was trained with, so the run would not continue "
                "exactly:\n  " + join(breaking, "\n  ") +
                "\nrestore those keys, or pass --resume-changed to continue with the new values anyway");
  for (const auto& line : breaking) logger()->warn("resume with --resume-changed: {}", line);
}

Checkpoint make_checkpoint(Run& run) {
  Checkpoint c;
  c.iteration = run.context.iteration;
  c.groups["model"] = state_dict(*run.student);
  if (!run.distillers.empty()) c.groups["distillers"] = state_dict(*run.distiller_container);
  c.groups["optimizer"] = sgd_state(*run.optimizer);
  auto generator = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    c.groups["rng"]["cpu"] = generator.get_state();
  }
  c.text["config"] = run.config.to_toml();
  return c;
}

void restore(Run& run, const std::string& path) {
  const Checkpoint c = load_checkpoint(path);
  if (c.format_version < kCheckpointFormatVersion)
    throw Error(path + ": written by an earlier segdistill (checkpoint format " + std::to_string(c.format_version) +
                "), whose optimizer state is a TorchScript archive; segdistill no longer loads those, because loading one "
                "can run code stored in the file. Training cannot resume from it; its weights still serve eval, predict, "
                "export-checkpoint and teacher.checkpoint");
  check_resumed_config(run, c, path);
  auto need = [&](const char* group) -> const TensorDict& {
    auto it = c.groups.find(group);
    if (it == c.groups.end()) throw Error(path + ": not a training checkpoint (no '" + std::string(group) + "' group)");
    return it->second;
  };
  load_state_dict(*run.student, need("model"), path);
  if (!run.distillers.empty()) load_state_dict(*run.distiller_container, need("distillers"), path);
  load_sgd_state(*run.optimizer, need("optimizer"), path);
  const TensorDict& rng = need("rng");
  if (!rng.count("cpu") || rng.at("cpu").scalar_type() != at::kByte || rng.at("cpu").dim() != 1)
    throw Error(path + ": the random state 'rng/cpu' is missing or not a byte vector (corrupt checkpoint?)");
  auto generator = at::detail::getDefaultCPUGenerator();
  try {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(rng.at("cpu"));
  } catch (const c10::Error&) {
    throw Error(path + ": the random state 'rng/cpu' has " + std::to_string(rng.at("cpu").numel()) +
                " bytes, which is not a CPU generator state (corrupt checkpoint?)");
  }
  run.context.iteration = c.iteration;
  run.last_checkpoint = path;
}

void save(Run& run) {
  try {
    const Checkpoint checkpoint = make_checkpoint(run);
    // A checkpoint with NaN or Inf in it (BatchNorm statistics of a diverging run, say)
    // is no "last good" one: the run stops and the previous checkpoint stays the latest.
    for (const char* group : {"model", "distillers", "optimizer"}) {
      auto found = checkpoint.groups.find(group);
      if (found == checkpoint.groups.end()) continue;
      if (auto bad = first_nonfinite(found->second))
        throw Error("iteration " + std::to_string(run.context.iteration) + ": the " + group + " state holds NaN or Inf ('" +
                    *bad + "'), so no checkpoint was written; training diverged: lower the learning rate or check the data");
    }
    run.last_checkpoint = run.work->save_checkpoint(checkpoint, run.context.iteration, run.train.keep_last);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + (run.last_checkpoint.empty() ? "" : "; the last good checkpoint is " + run.last_checkpoint));
  }
  logger()->debug("saved {}", run.last_checkpoint);
}

// ---- the built-in hooks ------------------------------------------------------------

class LrHook : public Hook {
 public:
  explicit LrHook(Run& run) : run_(run) {}
  int priority() const override { return 10; }
  void before_iteration(TrainContext& c) override { set_lr(run_, c.iteration); }

 private:
  Run& run_;
};

class CheckpointHook : public Hook {
 public:
  explicit CheckpointHook(Run& run) : run_(run) {}
  int priority() const override { return 70; }
  void after_iteration(TrainContext& c) override {
    if (!run_.writes_outputs()) return;
    if (c.iteration % run_.train.checkpoint_every == 0 || c.iteration == c.total_iterations) save(run_);
  }

 private:
  Run& run_;
};

class EvalHook : public Hook {
 public:
  explicit EvalHook(Run& run) : run_(run) {}
  // Before the checkpoint: what an iteration records is on disk before its checkpoint,
  // so a run killed in between redoes it on resume instead of losing it.
  int priority() const override { return 60; }
  void after_iteration(TrainContext& c) override {
    const bool periodic = run_.train.eval_every > 0 && c.iteration % run_.train.eval_every == 0;
    if (periodic || c.iteration == c.total_iterations) evaluate(c);
  }

 private:
  void evaluate(TrainContext& c) {
    const auto splits = configured_splits(run_.config);
    if (std::find(splits.begin(), splits.end(), "val") == splits.end()) {
      if (c.iteration == c.total_iterations) logger()->info("no [data.val]: no validation");
      return;
    }
    EvaluationOutputs outputs;
    outputs.workers = static_cast<int>(run_.train.workers);
    outputs.progress = false;
    if (run_.parallel) outputs.collectives = &run_.parallel->collectives();
    const EvaluationResult r = evaluate_model(*run_.student, build_split(run_.config, "val"), eval_options(run_.config), outputs);
    run_.student->train();
    c.last_miou = r.metrics.miou;
    if (!run_.writes_outputs()) return;
    const std::string table = format_metrics(r.metrics, r.class_names);
    logger()->info("validation at iteration {}:\n{}", c.iteration, table);
    std::ofstream(run_.work->path("eval/iter_" + std::to_string(c.iteration) + ".txt")) << table;
    nlohmann::json report = metrics_to_json(r.metrics, r.class_names);
    report["iter"] = c.iteration;
    report["confusion_matrix"] = r.evaluator.confusion();
    std::ofstream(run_.work->path("eval/iter_" + std::to_string(c.iteration) + ".json")) << report.dump(2) << "\n";
    run_.work->append_metrics({{"type", "val"}, {"iter", c.iteration}, {"mIoU", r.metrics.miou}, {"mAcc", r.metrics.macc},
                               {"aAcc", r.metrics.aacc}, {"fwIoU", r.metrics.fwiou}});
  }
  Run& run_;
};

class LoggingHook : public Hook {
 public:
  explicit LoggingHook(Run& run) : run_(run), bar_("train", run.total), since_(std::chrono::steady_clock::now()) {}
  int priority() const override { return 50; }  // before the checkpoint, see EvalHook
  void after_iteration(TrainContext& c) override {
    if (!run_.writes_outputs()) return;
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - since_).count();
    images_ += run_.train.batch_size;
    c.images_per_second = seconds > 0 ? static_cast<double>(images_) / seconds : 0;
    std::ostringstream note;
    note.precision(4);
    for (const auto& [name, value] : c.losses) note << name << " " << value << "  ";
    note << "lr " << c.lr << "  " << static_cast<int>(c.images_per_second * 10) / 10.0 << " img/s";
    if (run_.options.progress) bar_.update(c.iteration, note.str());
    if (c.iteration % run_.train.log_every == 0 || c.iteration == c.total_iterations) {
      nlohmann::json record{{"type", "train"}, {"iter", c.iteration}, {"epoch", c.epoch}, {"lr", c.lr},
                            {"images_per_second", c.images_per_second}};
      for (const auto& [name, value] : c.losses) record[name] = value;
      run_.work->append_metrics(record);
      logger()->debug("iter {}/{}: {}", c.iteration, c.total_iterations, note.str());
    }
  }
  void after_run(TrainContext&) override {
    if (run_.options.progress && run_.writes_outputs()) bar_.finish();
  }

 private:
  Run& run_;
  ProgressBar bar_;
  std::chrono::steady_clock::time_point since_;
  std::int64_t images_ = 0;
};

// ---- one iteration -------------------------------------------------------------------

// The losses of one rank's part of the batch. Cross-entropy comes as a sum and its
// normaliser (labelled pixels, or their class weights), so that the mean can be taken
// over the labelled pixels of the global batch.
struct StepLosses {
  at::Tensor ce_sum, ce_normaliser;
  std::map<std::string, at::Tensor> distill;  // weighted terms, means over this rank's samples
};

StepLosses losses_of(Run& run, const Batch& batch) {
  const at::Tensor images = batch.images.to(run.device);
  const at::Tensor labels = batch.labels.to(run.device);
  StepLosses losses;
  SegmentorOutput student = run.student->forward(images);
  auto options = torch::nn::functional::CrossEntropyFuncOptions().ignore_index(run.ignore_index).reduction(torch::kSum);
  if (run.class_weights.defined()) options.weight(run.class_weights);
  losses.ce_sum = torch::nn::functional::cross_entropy(student.logits, labels, options);
  const at::Tensor labelled = labels != run.ignore_index;
  losses.ce_normaliser = run.class_weights.defined()
                             ? (run.class_weights.index({labels.masked_fill(~labelled, 0)}) * labelled).sum()
                             : labelled.sum().to(torch::kFloat);
  if (!run.distillers.empty()) {
    SegmentorOutput teacher;
    {
      torch::NoGradGuard no_grad;
      teacher = run.teacher->forward(images);
    }
    for (auto& d : run.distillers) {
      at::Tensor term;
      for (const auto& [name, value] : d.module->forward(student.features, teacher.features))
        term = term.defined() ? term + value : value;
      losses.distill[d.loss_name] = term * d.weight;
    }
  }
  return losses;
}

// What the ranks agree on each iteration, in one small all-reduce: the global
// cross-entropy normaliser, the loss values to log and whether any rank was asked to stop.
struct StepAgreement {
  double ce_normaliser = 0;
  std::map<std::string, double> logged;  // loss (total), loss_ce, each distiller term
  bool stop = false;
};

StepAgreement agree(Run& run, const StepLosses& losses) {
  std::vector<double> values{losses.ce_normaliser.item<double>(), losses.ce_sum.item<double>()};
  for (const auto& [name, term] : losses.distill) values.push_back(term.item<double>());
  values.push_back(stop_signal().load() != 0 ? 1.0 : 0.0);
  if (run.parallel) {
    std::vector<at::Tensor> reduced{torch::tensor(values, torch::kDouble)};
    run.parallel->collectives().all_reduce_sum(reduced);
    values.assign(reduced[0].data_ptr<double>(), reduced[0].data_ptr<double>() + reduced[0].numel());
  }
  StepAgreement a;
  a.ce_normaliser = values[0];
  a.logged["loss_ce"] = values[1] / values[0];  // NaN when nothing is labelled: stops the run as a NaN would
  double total = a.logged["loss_ce"];
  std::size_t i = 2;
  for (const auto& [name, term] : losses.distill) {
    a.logged[name] = values[i++] / run.world_size;
    total += a.logged[name];
  }
  a.logged["loss"] = total;
  a.stop = values[i] > 0;
  return a;
}

}  // namespace

void check_batch_split(std::int64_t batch_size, int world_size) {
  if (batch_size % world_size != 0)
    throw Error("train.batch_size = " + std::to_string(batch_size) + " is not divisible by the " + std::to_string(world_size) +
                " ranks: the global batch is split evenly over them (use a multiple of " + std::to_string(world_size) + ")");
}

namespace {

TrainSummary run_training(const Config& config, const TrainOptions& options) {
  Run run(config);
  run.options = options;
  if (!config.root().contains("train")) throw Error(config.path() + ": no [train] section");
  run.train = parse_options<TrainSection>(config.root().table("train"));
  if (run.train.iterations == 0 && run.train.epochs == 0)
    throw Error(config.path() + ": set train.iterations or train.epochs (both are 0)");
  const std::string work_dir = !options.work_dir.empty() ? options.work_dir : run.train.work_dir;
  if (work_dir.empty()) throw Error("no work dir: give --work-dir DIR or set train.work_dir");
  run.device = pick_device(options.device);
  if (options.world) {
    run.rank = options.world->rank;
    run.world_size = options.world->world_size;
    // One GPU per process of a machine.
    if (run.device.is_cuda() && !run.device.has_index()) run.device = torch::Device(torch::kCUDA, options.world->local_rank);
    check_batch_split(run.train.batch_size, run.world_size);
  }

  // Everything that can fail on the user's input fails here, before the first iteration.
  validate_config(config);
  const DataSection data = parse_options<DataSection>(config.root().table("data"));
  run.ignore_index = data.ignore_index;
  build_networks(run);
  check_classes_fit(config, run.student->num_classes(), "model.num_classes");
  if (!run.train.class_weights.empty()) {
    if (static_cast<std::int64_t>(run.train.class_weights.size()) != run.student->num_classes())
      throw Error("train.class_weights: " + std::to_string(run.train.class_weights.size()) + " values for " +
                  std::to_string(run.student->num_classes()) + " classes");
    run.class_weights = torch::tensor(run.train.class_weights, torch::kFloat).to(run.device);
  }
  build_optimizer(run);
  LoaderOptions loader_options;
  loader_options.batch_size = run.train.batch_size / run.world_size;
  loader_options.workers = static_cast<int>(run.train.workers);
  loader_options.shuffle = true;
  loader_options.drop_last = true;
  loader_options.seed = static_cast<std::uint64_t>(run.train.seed);
  loader_options.shard_rank = run.rank;
  loader_options.shard_count = run.world_size;
  run.loader = std::make_unique<DataLoader>(build_split(config, "train"), loader_options);
  const auto per_epoch = static_cast<std::int64_t>(run.loader->batches_per_epoch());
  if (per_epoch == 0)
    throw Error("data.train has " + std::to_string(run.loader->split().dataset->size()) + " samples, fewer than train.batch_size " +
                std::to_string(run.train.batch_size));
  run.total = run.train.iterations > 0 ? run.train.iterations : run.train.epochs * per_epoch;
  if (!run.train.lr_schedule.empty())
    run.schedule = lr_schedules().create(run.train.lr_schedule, ScheduleContext{run.total});
  const auto splits = configured_splits(config);
  if (run.train.eval_every > 0 && std::find(splits.begin(), splits.end(), "val") == splits.end())
    throw Error(config.path() + ": train.eval_every is set but there is no [data.val] split");

  std::unique_ptr<CollectivesScope> collectives_scope;
  if (options.world) {
    CollectivesOptions collectives_options;
    collectives_options.backend = run.train.dist_backend;
    collectives_options.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(run.train.dist_timeout * 1000));
    collectives_options.cuda = run.device.is_cuda();
    auto collectives = Collectives::connect(*options.world, collectives_options);
    std::vector<at::Tensor> parameters;
    for (const auto& group : run.optimizer->param_groups())
      for (const auto& p : group.params()) parameters.push_back(p);
    run.parallel = std::make_unique<DataParallel>(collectives, parameters,
                                                  static_cast<std::size_t>(run.train.dist_bucket_mb * 1024 * 1024));
    collectives_scope = std::make_unique<CollectivesScope>(collectives, run.train.sync_bn);
    logger()->info("rank {} of {} ({}), {} images per rank and iteration{}", run.rank, run.world_size, collectives->backend(),
                   loader_options.batch_size, run.train.sync_bn ? ", synchronised BatchNorm" : "");
  }

  const WorkDirMode mode = !run.writes_outputs() ? WorkDirMode::Follower
                           : options.resume       ? WorkDirMode::Resume
                           : options.overwrite    ? WorkDirMode::Overwrite
                                                  : WorkDirMode::Fresh;
  run.work = std::make_unique<WorkDir>(work_dir, mode);
  // Nothing of the work dir is written before a resume has passed its checks.
  std::optional<std::int64_t> resumed_at;
  if (options.resume) {
    const auto latest = run.work->latest_checkpoint();
    if (!latest) throw Error("--resume: no checkpoint in " + run.work->path("checkpoints") + " (run without --resume to start)");
    restore(run, *latest);
    resumed_at = run.context.iteration;
  }
  if (run.writes_outputs()) {
    add_log_file(run.work->path("log.txt"));
    config.save(run.work->path("config.toml"));
    run.work->open_metrics(resumed_at);
  }
  if (resumed_at) logger()->info("resumed from {} at iteration {}", run.last_checkpoint, *resumed_at);
  // The same starting point on every rank, also after a resume at another world size.
  if (run.parallel) run.parallel->broadcast_state({run.student.get(), run.distiller_container.get()});

  run.context.config = &run.config;
  run.context.model = run.student.get();
  run.context.work_dir = work_dir;
  run.context.total_iterations = run.total;
  run.context.batches_per_epoch = per_epoch;
  std::vector<std::unique_ptr<Hook>> hooks;
  hooks.push_back(std::make_unique<LrHook>(run));
  hooks.push_back(std::make_unique<CheckpointHook>(run));
  hooks.push_back(std::make_unique<EvalHook>(run));
  hooks.push_back(std::make_unique<LoggingHook>(run));
  std::stable_sort(hooks.begin(), hooks.end(), [](const auto& a, const auto& b) { return a->priority() < b->priority(); });

  logger()->info("training {} iterations ({} per epoch) on {} in {}", run.total, per_epoch, run.device.str(), work_dir);
  for (auto& h : hooks) h->before_run(run.context);
  run.student->train();
  if (run.teacher) run.teacher_train_mode ? run.teacher->train() : run.teacher->eval();
  run.distiller_container->train();
  std::int64_t loader_epoch = -1;
  while (run.context.iteration < run.total) {
    const std::int64_t it = run.context.iteration;
    run.context.epoch = it / per_epoch;
    if (run.context.epoch != loader_epoch) {
      run.loader->start_epoch(run.context.epoch, static_cast<std::size_t>(it % per_epoch));
      loader_epoch = run.context.epoch;
    }
    auto batch = run.loader->next();
    if (!batch) throw Error("data.train: the epoch ended early (every sample of a batch was skipped as bad)");
    for (auto& h : hooks) h->before_iteration(run.context);

    const StepLosses losses = losses_of(run, *batch);
    const StepAgreement agreed = agree(run, losses);
    run.context.losses = agreed.logged;
    if (!std::isfinite(run.context.losses["loss"])) {
      std::ostringstream terms;
      for (const auto& [name, value] : run.context.losses) terms << " " << name << "=" << value;
      throw Error("loss is not finite at iteration " + std::to_string(it + 1) + ":" + terms.str() +
                  "; training stopped. The last good checkpoint is " +
                  (run.last_checkpoint.empty() ? std::string("(none yet)") : run.last_checkpoint) +
                  "; lower the learning rate or check the data, then resume with --resume");
    }
    // Scaled so that the average of the ranks' gradients is the gradient of the mean
    // cross-entropy over the global batch's labelled pixels plus the distiller terms.
    at::Tensor total = losses.ce_sum * (static_cast<double>(run.world_size) / agreed.ce_normaliser);
    for (const auto& [name, term] : losses.distill) total = total + term;
    run.optimizer->zero_grad();
    total.backward();
    if (run.parallel) run.parallel->average_gradients();
    if (run.train.grad_clip > 0) {
      std::vector<at::Tensor> params;
      for (auto& g : run.optimizer->param_groups())
        for (auto& p : g.params()) params.push_back(p);
      torch::nn::utils::clip_grad_norm_(params, run.train.grad_clip);
    }
    run.optimizer->step();
    run.context.iteration = it + 1;
    for (auto& h : hooks) h->after_iteration(run.context);

    // Every rank stops after the same iteration: in a data-parallel run the request is
    // part of the agreement above.
    if (run.parallel ? agreed.stop : stop_signal().load() != 0) {
      const int signal = stop_signal().load() != 0 ? stop_signal().load() : SIGTERM;
      if (run.writes_outputs() && run.last_checkpoint.find("iter_" + std::to_string(run.context.iteration) + ".pt") == std::string::npos)
        save(run);
      throw StoppedBySignal("stopped by signal " + std::to_string(signal) + " at iteration " +
                                std::to_string(run.context.iteration) +
                                (run.writes_outputs() ? "; checkpoint " + run.last_checkpoint + " saved" : std::string()) +
                                "; continue with --resume",
                            signal);
    }
  }
  for (auto& h : hooks) h->after_run(run.context);
  TrainSummary summary;
  summary.work_dir = work_dir;
  summary.last_checkpoint = run.last_checkpoint;
  summary.iterations = run.context.iteration;
  summary.final_miou = run.context.last_miou;
  summary.skipped_samples = run.loader->skipped_samples();
  if (summary.skipped_samples) logger()->warn("{} bad samples were skipped", summary.skipped_samples);
  return summary;
}

}  // namespace

TrainSummary train(const Config& config, const TrainOptions& options) {
  if (options.resume && options.overwrite)
    throw Error("--resume continues the run in the work dir and --overwrite moves it aside: give one of them");
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
