#include "model_loading.hpp"

#include <filesystem>

#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/core/check.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/modeling/fold_batch_norm.hpp"
#include "segdistill/runtime/channels_last.hpp"
#include "segdistill/runtime/device.hpp"
#include "segdistill/runtime/precision.hpp"

namespace segdistill::cli {

namespace fs = std::filesystem;

namespace {
bool is_keyword(const std::string& argument) { return argument == "best" || argument == "latest"; }
}  // namespace

CLI::Validator checkpoint_argument() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        std::error_code ec;
        if (fs::is_regular_file(value, ec) || (is_keyword(value) && !fs::exists(value, ec))) return "";
        return "no such checkpoint file: " + value + " (give a file, 'best' or 'latest')";
      },
      "FILE|best|latest");
}

std::string resolve_checkpoint(const Config& config, const std::string& argument) {
  std::error_code ec;
  if (!is_keyword(argument) || fs::exists(argument, ec)) return argument;
  std::string work_dir;
  if (config.root().contains("train") && config.root().table("train").contains("work_dir"))
    work_dir = config.root().table("train").string("work_dir");
  require(!work_dir.empty(), "--checkpoint {}: {} sets no train.work_dir to find it in", argument, config.path());
  const fs::path dir = fs::path(work_dir) / "checkpoints";
  const fs::path file = dir / (argument == "best" ? "best.pt" : "latest");
  require(fs::exists(file, ec), "--checkpoint {}: {} does not exist{}", argument, file.string(),
          argument == "best" ? " (a run keeps it with train.save_best = true)" : " (no checkpoint saved yet)");
  return fs::canonical(file, ec).string();
}

std::shared_ptr<Segmentor> load_model(const Config& config, const std::string& checkpoint_argument, const std::string& section,
                                      const std::string& device_name) {
  const c10::Device device = resolve_device(device_name);  // before the work of loading
  const std::string checkpoint_path = resolve_checkpoint(config, checkpoint_argument);
  auto model = build_network(config, section);
  const Checkpoint checkpoint = load_checkpoint(checkpoint_path);
  auto group = checkpoint.groups.find("model");
  if (group == checkpoint.groups.end()) throw Error(checkpoint_path + ": the checkpoint holds no model weights");
  load_state_dict(*model, group->second, checkpoint_path);
  if (!device.is_cpu()) {
    model->to(device);
    logger()->info("running on {}", device.str());
  }
  return model;
}

std::shared_ptr<Segmentor> load_inference_model(const Config& config, const std::string& checkpoint, const std::string& device) {
  auto model = load_model(config, checkpoint, "model", device);
  // An inference-only network: BatchNorm folded into the convolutions (one pass less over
  // every feature map) and channels-last, on which LibTorch's convolutions run faster
  // (tools/bench/README.md).
  const std::int64_t folded = fold_batch_norms(*model);
  logger()->debug("{} BatchNorm layers folded into their convolutions", folded);
  use_channels_last(*model);
  return model;
}

void add_device_option(CLI::App& app, std::string& device) {
  app.add_option("--device", device, "auto (CUDA when present), cpu, cuda or cuda:N")->capture_default_str();
}

}  // namespace segdistill::cli
