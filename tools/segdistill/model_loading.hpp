#pragma once
// Building a config's network and loading a checkpoint into it, for eval, predict and
// export-checkpoint.
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "segdistill/config/config.hpp"
#include "segdistill/modeling/segmentor.hpp"

namespace segdistill::cli {

// What --checkpoint accepts: an existing file, or "best" / "latest": the checkpoint of
// that name in the config's train.work_dir.
CLI::Validator checkpoint_argument();
inline constexpr const char* kCheckpointHelp =
    "segdistill checkpoint: a file, 'best' (WORK_DIR/checkpoints/best.pt, train.save_best) or 'latest' "
    "(WORK_DIR/checkpoints/latest), WORK_DIR being the config's train.work_dir";

// The file --checkpoint names (see checkpoint_argument). Errors name the work dir and
// what is missing.
std::string resolve_checkpoint(const Config& config, const std::string& argument);

// The `section` ("model" or "teacher") network of `config` with the checkpoint's "model"
// weights (a checkpoint always holds the network its run trained as "model"), on `device`
// (see add_device_option). Errors name the checkpoint when it holds no model or one of
// another shape, and the device when it is not there.
std::shared_ptr<Segmentor> load_model(const Config& config, const std::string& checkpoint, const std::string& section = "model",
                                      const std::string& device = "cpu");

// The config's "model" network for eval and predict: load_model, then BatchNorm folded
// into the convolutions (checked, see fold_batch_norms) and channels-last. It can only infer.
std::shared_ptr<Segmentor> load_inference_model(const Config& config, const std::string& checkpoint, const std::string& device);

// --device for commands that run a network (eval, predict): auto, cpu, cuda, cuda:N.
void add_device_option(CLI::App& app, std::string& device);

}  // namespace segdistill::cli
