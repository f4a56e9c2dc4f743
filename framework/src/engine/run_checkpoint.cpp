// A run's checkpoints: what is saved, how a resume restores it exactly.

#include "config/diff.hpp"
#include "engine/optimizer_state.hpp"
#include "engine/run.hpp"
#include "segdistill/checkpoint/random_state.hpp"
#include "segdistill/core/closest_match.hpp"
#include "segdistill/core/log.hpp"

namespace segdistill {

namespace {

// Keys whose change leaves a resumed run exactly the run it was: where outputs go, how
// often they are written, validation, data-loading threads, the collectives' transport.
bool change_keeps_exactness(const std::string& key) {
  static const char* const free_keys[] = {"train.log_every",
                                          "train.checkpoint_every",
                                          "train.keep_last",
                                          "train.eval_every",
                                          "train.eval_every_epochs",
                                          "train.save_best",
                                          "train.precise_bn_batches",
                                          "train.work_dir",
                                          "train.workers",
                                          "train.dist_backend",
                                          "train.dist_timeout",
                                          "train.dist_bucket_mb",
                                          "eval",
                                          "model.init_from",
                                          "model.init_from_partial",
                                          "model.backbone.pretrained",
                                          "teacher.backbone.pretrained",
                                          "plugins",
                                          "data.val"};
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
    throw Error("--resume: the config differs from the one " + path +
                " was trained with, so the run would not continue "
                "exactly:\n  " +
                join(breaking, "\n  ") + "\nrestore those keys, or pass --resume-changed to continue with the new values anyway");
  for (const auto& line : breaking) logger()->warn("resume with --resume-changed: {}", line);
}

// Each hook's state as hooks/<name>.<key>.
TensorDict hook_states(const Run& run) {
  TensorDict out;
  for (const auto& entry : run.hooks)
    for (const auto& [key, tensor] : entry.hook->state_dict()) out[entry.name + "." + key] = tensor;
  return out;
}

}  // namespace

Checkpoint make_checkpoint(Run& run) {
  Checkpoint c = model_checkpoint(*run.student, run.config.to_toml(), run.state.iteration);
  if (!run.distillers.empty()) c.groups["distillers"] = state_dict(*run.distiller_container);
  c.groups["optimizer"] = optimizer_state(*run.optimizer);
  if (run.scaler.enabled()) c.groups["loss_scaler"] = run.scaler.state_dict();
  TensorDict hooks = hook_states(run);
  if (!hooks.empty()) c.groups["hooks"] = std::move(hooks);
  c.groups["rng"]["cpu"] = cpu_random_state();
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
  load_optimizer_state(*run.optimizer, need("optimizer"), path);
  if (run.scaler.enabled()) run.scaler.load_state_dict(need("loss_scaler"), path);
  if (auto hooks = c.groups.find("hooks"); hooks != c.groups.end()) run.resumed_hook_states = hooks->second;
  const TensorDict& rng = need("rng");
  if (!rng.count("cpu")) throw Error(path + ": the random state 'rng/cpu' is missing (corrupt checkpoint?)");
  set_cpu_random_state(rng.at("cpu"), path + ": the random state 'rng/cpu'");
  run.state.iteration = c.iteration;
  run.last_checkpoint = path;
  run.last_checkpoint_iteration = c.iteration;
}

void save(Run& run) {
  try {
    const Checkpoint checkpoint = make_checkpoint(run);
    // A checkpoint with NaN or Inf in it (BatchNorm statistics of a diverging run, say)
    // is no "last good" one: the run stops and the previous checkpoint stays the latest.
    for (const char* group : {"model", "distillers", "optimizer", "hooks"}) {
      auto found = checkpoint.groups.find(group);
      if (found == checkpoint.groups.end()) continue;
      if (auto bad = first_nonfinite(found->second))
        throw Error("iteration " + std::to_string(run.state.iteration) + ": the " + group + " state holds NaN or Inf ('" + *bad +
                    "'), so no checkpoint was written; training diverged: lower the learning rate or check the data");
    }
    run.last_checkpoint = run.work->save_checkpoint(checkpoint, run.state.iteration, run.train.keep_last);
    run.last_checkpoint_iteration = run.state.iteration;
  } catch (const Error& e) {
    throw Error(std::string(e.what()) +
                (run.last_checkpoint.empty() ? "" : "; the last good checkpoint is " + run.last_checkpoint));
  }
  logger()->debug("saved {}", run.last_checkpoint);
}

void restore_hook_states(Run& run) {
  if (run.last_checkpoint.empty() || !run.options.resume) return;
  const std::string& path = run.last_checkpoint;
  for (auto& entry : run.hooks) {
    const std::string prefix = entry.name + ".";
    TensorDict state;
    for (const auto& [key, tensor] : run.resumed_hook_states)
      if (key.rfind(prefix, 0) == 0) state[key.substr(prefix.size())] = tensor;
    if (state.empty()) {
      if (entry.from_config) logger()->warn("resume: {} holds no state of hook '{}'; it starts afresh", path, entry.name);
      continue;
    }
    try {
      entry.hook->load_state_dict(state);
    } catch (const Error& e) {
      throw Error(path + ": the state of hook '" + entry.name + "' does not fit: " + e.what());
    }
  }
  run.resumed_hook_states.clear();
}

}  // namespace segdistill
