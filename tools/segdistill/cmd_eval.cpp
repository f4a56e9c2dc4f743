// segdistill eval CONFIG (--checkpoint CKPT | --pred-dir DIR) [--split S] [--json OUT]
//                 [--save-pred DIR] [--save-overlay DIR] [--confusion-matrix PNG] [--device D]
#include <cctype>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>
#include <unordered_set>

#include <CLI/CLI.hpp>

#include "command.hpp"
#include "confusion_picture.hpp"
#include "model_loading.hpp"
#include "plugin_setup.hpp"
#include "segdistill/config/config.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/evaluation/evaluation.hpp"
#include "segdistill/evaluation/output_paths.hpp"

namespace segdistill::cli {

namespace {

struct EvalArgs {
  std::string config, checkpoint, pred_dir, split = "val", json, save_pred, save_overlay, confusion_matrix, device = "auto";
  std::vector<std::string> overrides;
  int workers = 2;
};

// imwrite picks the format from the extension: anything but .png would not be a PNG.
CLI::Validator png_path() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        const auto dot = value.rfind('.');
        std::string ext = dot == std::string::npos ? "" : value.substr(dot);
        for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return ext == ".png" ? "" : "expected a .png file name, got " + value;
      },
      "FILE.png");
}

void write_json(const std::string& path, const nlohmann::json& report) {
  std::ofstream out(path);
  out << report.dump(2) << "\n";
  if (!out) throw Error(path + ": cannot write the JSON report");
}

// Output folders that are the split's image or label folder are refused before any
// work; the folders are those of the first sample (each write is checked again).
void refuse_data_folders(const DataSplit& split, const std::vector<std::pair<std::string, std::string>>& outputs) {
  if (split.dataset->size() == 0) return;
  Sample first;
  try {
    first = split.dataset->load(0);
  } catch (const Error&) {
    return;  // a bad first sample is reported by the evaluation itself
  }
  for (const auto& [option, folder] : outputs) {
    if (folder.empty()) continue;
    refuse_input_folder(option, folder, first.label_path, "labels");
    refuse_input_folder(option, folder, first.image_path, "images");
  }
}

int run_eval(const GlobalOptions& globals, const EvalArgs& args) {
  const Config config = Config::load(args.config, args.overrides);
  load_plugins(globals, &config);
  const EvalSection options = eval_options(config);
  DataSplit split = build_split(config, args.split);
  std::int64_t parameters = 0;  // of the model; 0 when scoring saved predictions
  EvaluationResult result = [&] {
    if (!args.pred_dir.empty()) {
      return evaluate_predictions(args.pred_dir, split, options, globals.worker_threads());
    }
    refuse_data_folders(split, {{"--save-pred", args.save_pred}, {"--save-overlay", args.save_overlay}});
    auto model = load_inference_model(config, args.checkpoint, args.device);
    std::unordered_set<const void*> seen;  // MobileNetV2 shares modules under several names
    for (const auto& p : model->parameters())
      if (seen.insert(p.unsafeGetTensorImpl()).second) parameters += p.numel();
    std::cout << "model: " << parameters << " parameters\n";
    return evaluate_model(*model, std::move(split), options, {args.save_pred, args.save_overlay, args.workers, true});
  }();
  std::cout << format_metrics(result.metrics, result.class_names);
  std::cout << result.samples << " images in " << result.seconds << " s ("
            << (result.seconds > 0 ? static_cast<double>(result.samples) / result.seconds : 0.0) << " images/s)\n";
  if (!args.confusion_matrix.empty()) {
    try {
      plotting::draw_confusion_matrix(result.evaluator.confusion(), result.class_names, args.confusion_matrix);
    } catch (const std::runtime_error& e) {
      throw Error(std::string("--confusion-matrix: ") + e.what());
    }
    logger()->info("wrote {}", args.confusion_matrix);
  }
  if (!args.json.empty()) {
    nlohmann::json report = metrics_to_json(result.metrics, result.class_names);
    report["split"] = "data." + args.split;
    report["samples"] = result.samples;
    if (parameters > 0) report["parameters"] = parameters;
    report["seconds"] = result.seconds;
    report["config"] = config.to_toml();
    report["config_file"] = args.config;
    if (!args.checkpoint.empty()) report["checkpoint"] = resolve_checkpoint(config, args.checkpoint);
    if (!args.pred_dir.empty()) report["predictions"] = args.pred_dir;
    report["eval"] = {{"mode", options.mode},
                      {"crop", options.crop},
                      {"stride", options.stride},
                      {"scales", options.scales},
                      {"flip", options.flip},
                      {"mean_over", options.mean_over},
                      {"resize_to", options.resize_to ? nlohmann::json(*options.resize_to) : nlohmann::json(nullptr)}};
    report["confusion_matrix"] = result.evaluator.confusion();
    write_json(args.json, report);
    logger()->info("wrote {}", args.json);
  }
  return 0;
}

}  // namespace

Runner attach_eval(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  app.add_option("CONFIG", args->config, "TOML config ([model], [data], [eval])")->required()->check(CLI::ExistingFile);
  auto* checkpoint = app.add_option("--checkpoint", args->checkpoint, kCheckpointHelp)->check(checkpoint_argument());
  auto* preds = app.add_option("--pred-dir", args->pred_dir, "score saved predictions (ID.png, indices or palette) instead");
  checkpoint->excludes(preds);
  app.add_option("--split", args->split, "train, val or test")
      ->capture_default_str()
      ->check(CLI::IsMember({"train", "val", "test"}));
  app.add_option("--json", args->json, "write every metric, per-class values, counts, config and mode as JSON");
  app.add_option("--save-pred", args->save_pred, "write predictions as palette PNGs (indices preserved)")->excludes(preds);
  app.add_option("--save-overlay", args->save_overlay, "write predictions coloured over the images")->excludes(preds);
  app.add_option("--confusion-matrix", args->confusion_matrix,
                 "draw the confusion matrix (rows: label, normalised; columns: prediction) with class names into a PNG")
      ->check(png_path());
  add_device_option(app, args->device);
  app.add_option("--workers", args->workers, "data loading threads")->capture_default_str()->check(CLI::Range(0, 64));
  app.add_option("--set", args->overrides, "override a config key (repeatable)")->type_name("KEY=VALUE");
  return [args](const GlobalOptions& globals) {
    if (args->checkpoint.empty() && args->pred_dir.empty())
      throw Error("eval: give --checkpoint CKPT (run the model) or --pred-dir DIR (score saved predictions)");
    return run_eval(globals, *args);
  };
}

}  // namespace segdistill::cli
