// segdistill predict CONFIG --checkpoint CKPT --input IMG_OR_DIR --output DIR [--device D]
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include "command.hpp"
#include "model_loading.hpp"
#include "plugin_setup.hpp"
#include "segdistill/config/config.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/progress.hpp"
#include "segdistill/data/image_io.hpp"
#include "segdistill/data/sections.hpp"
#include "segdistill/evaluation/inference.hpp"
#include "segdistill/evaluation/output_paths.hpp"
#include "segdistill/evaluation/overlay.hpp"

namespace fs = std::filesystem;

namespace segdistill::cli {

namespace {

struct PredictArgs {
  std::string config, checkpoint, input, output, device = "auto";
  std::vector<std::string> overrides;
};

bool is_image_file(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

std::vector<std::string> input_images(const std::string& input) {
  std::error_code ec;
  if (fs::is_regular_file(input, ec)) return {input};
  if (!fs::is_directory(input, ec)) throw Error("--input " + input + ": no such image or folder");
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(input))
    if (entry.is_regular_file() && is_image_file(entry.path())) files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw Error("--input " + input + ": the folder holds no .jpg, .jpeg, .png or .bmp image");
  return files;
}

at::Tensor to_batch(const cv::Mat& image) {
  cv::Mat f;
  image.convertTo(f, CV_32F);
  return torch::from_blob(f.data, {1, f.rows, f.cols, 3}, at::kFloat).permute({0, 3, 1, 2}).contiguous();
}

std::string mask_path(const PredictArgs& args, const std::string& image) {
  return (fs::path(args.output) / (fs::path(image).stem().string() + ".png")).string();
}
std::string overlay_path(const PredictArgs& args, const std::string& image) {
  return (fs::path(args.output) / (fs::path(image).stem().string() + "_overlay.png")).string();
}

// Before anything is written: no output replaces an input, and no two inputs share an
// output name (a.jpg and a.png would both become a.png).
void check_outputs(const std::vector<std::string>& images, const PredictArgs& args) {
  refuse_input_folder("--output", args.output, images.front(), "input images");
  std::map<std::string, std::string> written;
  for (const auto& image : images) {
    for (const auto& target : {mask_path(args, image), overlay_path(args, image)}) {
      auto [it, fresh] = written.emplace(target, image);
      if (!fresh)
        throw Error("--input: " + it->second + " and " + image + " would both be written as " + target +
                    "; rename one of them or predict them into separate folders");
      refuse_overwriting_inputs("--output", target, images);
    }
  }
}

int run_predict(const GlobalOptions& globals, const PredictArgs& args) {
  const Config config = Config::load(args.config, args.overrides);
  load_plugins(globals, &config);
  const auto images = input_images(args.input);
  auto model = load_inference_model(config, args.checkpoint, args.device);
  const EvalSection options = eval_options(config);
  const PredictionStyle style = prediction_style(config, model->num_classes());
  check_outputs(images, args);
  std::error_code ec;
  fs::create_directories(args.output, ec);
  if (ec) throw Error(args.output + ": cannot create the folder: " + ec.message());
  ProgressBar bar("predict", static_cast<std::int64_t>(images.size()));
  std::size_t done = 0;
  for (const auto& path : images) {
    Sample sample;
    sample.id = fs::path(path).stem().string();
    sample.image = read_rgb_image(path);
    sample.original_size = sample.image.size();
    const cv::Mat original = sample.image;
    std::mt19937_64 rng(0);
    for (const auto& step : style.pipeline) step->apply(sample, rng);
    at::Tensor logits = infer_logits(*model, to_batch(sample.image), options);
    if (logits.size(2) != original.rows || logits.size(3) != original.cols)
      logits = torch::nn::functional::interpolate(logits, torch::nn::functional::InterpolateFuncOptions()
                                                              .size(std::vector<std::int64_t>{original.rows, original.cols})
                                                              .mode(torch::kBilinear)
                                                              .align_corners(false));
    const at::Tensor prediction = logits.argmax(1)[0].to(at::kByte).cpu().contiguous();
    const cv::Mat mask = cv::Mat(original.rows, original.cols, CV_8UC1, prediction.data_ptr()).clone();
    write_label_png(mask_path(args, path), mask, style.info.palette);
    write_rgb_image(overlay_path(args, path), overlay(original, mask, style.info));
    bar.update(static_cast<std::int64_t>(++done));
  }
  bar.finish();
  std::cout << "wrote " << images.size() << " masks and overlays to " << args.output << "\n";
  return 0;
}

}  // namespace

Runner attach_predict(CLI::App& app) {
  auto args = std::make_shared<PredictArgs>();
  app.add_option("CONFIG", args->config, "TOML config ([model]; [data.val] pipeline and [eval] if present)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--checkpoint", args->checkpoint, kCheckpointHelp)->required()->check(checkpoint_argument());
  app.add_option("--input", args->input, "an image or a folder of images")->required();
  app.add_option("--output", args->output, "folder for NAME.png masks (palette) and NAME_overlay.png")->required();
  add_device_option(app, args->device);
  app.add_option("--set", args->overrides, "override a config key (repeatable)")->type_name("KEY=VALUE");
  return [args](const GlobalOptions& globals) { return run_predict(globals, *args); };
}

}  // namespace segdistill::cli
