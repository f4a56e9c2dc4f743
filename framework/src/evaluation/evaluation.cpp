#include "segdistill/evaluation/evaluation.hpp"
#include "segdistill/evaluation/output_paths.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <mutex>
#include <sstream>
#include <thread>

#include <torch/torch.h>
#include <opencv2/imgproc.hpp>

#include "segdistill/config/config.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/progress.hpp"
#include "segdistill/data/image_io.hpp"
#include "segdistill/data/loader.hpp"
#include "segdistill/evaluation/overlay.hpp"
#include "segdistill/modeling/segmentor.hpp"
#include "segdistill/plugin/registries.hpp"
#include "segdistill/runtime/collectives.hpp"

namespace fs = std::filesystem;
namespace F = torch::nn::functional;

namespace segdistill {

namespace {

void make_dir(const std::string& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create the folder: " + ec.message());
}

// The published protocol resizes image and label to N x N before everything else.
void prepend_resize(DataSplit& split, std::int64_t size) {
  const Config config = Config::parse("t = {type = \"resize\", size = [" + std::to_string(size) + "]}", "eval.resize_to");
  split.pipeline.insert(split.pipeline.begin(), transforms().create(config.root().table("t"), TransformContext{255}));
}

cv::Mat to_mat(const at::Tensor& prediction) {
  const at::Tensor bytes = prediction.to(at::kByte).contiguous();
  return cv::Mat(static_cast<int>(bytes.size(0)), static_cast<int>(bytes.size(1)), CV_8UC1, bytes.data_ptr()).clone();
}

at::Tensor to_tensor(const cv::Mat& label) { return torch::from_blob(label.data, {label.rows, label.cols}, at::kByte).clone(); }

}  // namespace

// Exact: the confusion matrix holds integer counts (int64 all-reduce).
static void sum_across_ranks(EvaluationResult& result, Collectives& collectives) {
  const std::vector<std::int64_t>& counts = result.evaluator.confusion();
  at::Tensor summed = torch::empty({static_cast<std::int64_t>(counts.size()) + 1}, torch::kLong);
  std::copy(counts.begin(), counts.end(), summed.data_ptr<std::int64_t>());
  summed[static_cast<std::int64_t>(counts.size())] = static_cast<std::int64_t>(result.samples);
  std::vector<at::Tensor> one{summed};
  collectives.all_reduce_sum(one);
  const std::int64_t* data = summed.data_ptr<std::int64_t>();
  Evaluator total(result.evaluator.num_classes(), result.evaluator.ignore_index());
  total.add_confusion(std::vector<std::int64_t>(data, data + counts.size()));
  result.evaluator = total;
  result.samples = static_cast<std::size_t>(data[counts.size()]);
}

EvaluationResult evaluate_model(Segmentor& model, DataSplit split, const EvalSection& options, const EvaluationOutputs& outputs) {
  if (options.resize_to) prepend_resize(split, *options.resize_to);
  make_dir(outputs.predictions_dir);
  make_dir(outputs.overlays_dir);
  const DatasetInfo& info = split.dataset->info();
  EvaluationResult result{Evaluator(model.num_classes(), info.ignore_index), {}, info.class_names, 0, 0};
  const bool at_original = !options.resize_to;
  LoaderOptions loader_options;
  loader_options.batch_size = options.batch_size;
  loader_options.workers = outputs.workers;
  loader_options.keep_samples = true;
  loader_options.keep_original_labels = at_original;
  if (outputs.collectives) {
    loader_options.shard_rank = outputs.collectives->rank();
    loader_options.shard_count = outputs.collectives->world_size();
  }
  const std::string key = split.key;
  DataLoader loader(std::move(split), loader_options);
  const auto start = std::chrono::steady_clock::now();
  ProgressBar bar("eval " + key, static_cast<std::int64_t>(loader.split().dataset->size()));
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    const at::Tensor logits = infer_logits(model, batch->images, options);
    for (std::size_t i = 0; i < batch->ids.size(); ++i) {
      const Sample& sample = batch->samples[i];
      const cv::Mat& target = at_original ? sample.original_label : sample.label;
      at::Tensor sample_logits = logits[static_cast<std::int64_t>(i)].unsqueeze(0);
      if (sample_logits.size(2) != target.rows || sample_logits.size(3) != target.cols)
        sample_logits = F::interpolate(sample_logits, F::InterpolateFuncOptions()
                                                          .size(std::vector<std::int64_t>{target.rows, target.cols})
                                                          .mode(torch::kBilinear)
                                                          .align_corners(false));
      const at::Tensor prediction = sample_logits.argmax(1)[0].cpu();
      result.evaluator.add(prediction, to_tensor(target), sample.id);
      if (!outputs.predictions_dir.empty() || !outputs.overlays_dir.empty()) {
        const cv::Mat predicted = to_mat(prediction);
        const std::vector<std::string> inputs{sample.image_path, sample.label_path};
        if (!outputs.predictions_dir.empty()) {
          const std::string file = output_file_inside("--save-pred", outputs.predictions_dir, sample.id, ".png");
          refuse_overwriting_inputs("--save-pred", file, inputs);
          write_label_png(file, predicted, info.palette);
        }
        if (!outputs.overlays_dir.empty()) {
          const std::string file = output_file_inside("--save-overlay", outputs.overlays_dir, sample.id, ".png");
          refuse_overwriting_inputs("--save-overlay", file, inputs);
          cv::Mat image = read_rgb_image(sample.image_path);
          if (image.size() != predicted.size()) cv::resize(image, image, predicted.size(), 0, 0, cv::INTER_LINEAR);
          write_rgb_image(file, overlay(image, predicted, info));
        }
      }
      ++result.samples;
    }
    if (outputs.progress) bar.update(static_cast<std::int64_t>(result.samples));
  }
  if (outputs.progress) bar.finish();
  if (outputs.collectives) sum_across_ranks(result, *outputs.collectives);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.metrics = result.evaluator.metrics(parse_mean_over(options.mean_over));
  return result;
}

EvaluationResult evaluate_predictions(const std::string& predictions_dir, const DataSplit& split, const EvalSection& options,
                                      int threads) {
  std::error_code ec;
  if (!fs::is_directory(predictions_dir, ec)) throw Error(predictions_dir + ": prediction folder not found");
  const DatasetInfo& info = split.dataset->info();
  const std::size_t n = split.dataset->size();
  EvaluationResult result{Evaluator(info.num_classes(), info.ignore_index), {}, info.class_names, n, 0};
  const auto start = std::chrono::steady_clock::now();
  const auto prediction_path = [&](std::size_t i) {
    return (fs::path(predictions_dir) / (split.dataset->id(i) + ".png")).string();
  };
  // Missing files are found before any work, in the split's order: the error names the
  // same first file on every run and says how many are missing.
  std::size_t missing = 0, first_missing = n;
  for (std::size_t i = 0; i < n; ++i) {
    if (fs::exists(prediction_path(i), ec)) continue;
    if (missing++ == 0) first_missing = i;
  }
  if (missing > 0)
    throw Error(prediction_path(first_missing) + ": no prediction for sample '" + split.dataset->id(first_missing) + "' of " +
                split.key + (missing > 1 ? " (" + std::to_string(missing) + " of " + std::to_string(n) + " are missing)" : ""));
  std::atomic<std::size_t> next{0}, done{0};
  std::mutex mutex;
  std::exception_ptr failure;
  std::size_t failure_index = n;
  ProgressBar bar("eval " + split.key + " (predictions)", static_cast<std::int64_t>(n));
  auto work = [&] {
    Evaluator local(info.num_classes(), info.ignore_index);
    std::size_t i = 0;
    try {
      for (i = next++; i < n; i = next++) {
        const std::string path = prediction_path(i);
        cv::Mat label = split.dataset->load_label(i);
        cv::Mat prediction = read_label_png(path);
        if (options.resize_to) {
          const cv::Size size(static_cast<int>(*options.resize_to), static_cast<int>(*options.resize_to));
          cv::resize(label, label, size, 0, 0, cv::INTER_NEAREST);
        }
        local.add(prediction, label, path);
        ++done;
      }
    } catch (...) {
      // Of the samples that failed before the others stopped, the earliest is reported.
      std::lock_guard<std::mutex> lock(mutex);
      if (!failure || i < failure_index) {
        failure = std::current_exception();
        failure_index = i;
      }
      next = n;  // the others stop too
    }
    std::lock_guard<std::mutex> lock(mutex);
    result.evaluator.merge(local);
  };
  std::vector<std::thread> workers;
  for (int t = 0; t < std::max(1, threads); ++t) workers.emplace_back(work);
  while (done < n && !failure) {
    bar.update(static_cast<std::int64_t>(done));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (auto& w : workers) w.join();
  if (failure) std::rethrow_exception(failure);
  bar.update(static_cast<std::int64_t>(n));
  bar.finish();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.metrics = result.evaluator.metrics(parse_mean_over(options.mean_over));
  return result;
}

namespace {
std::string percent(double v) {
  if (std::isnan(v)) return "-";
  std::ostringstream out;
  out << std::fixed << std::setprecision(2) << 100.0 * v;
  return out.str();
}
std::string class_name(const std::vector<std::string>& names, std::size_t i) {
  return i < names.size() ? names[i] : "class " + std::to_string(i);
}
}  // namespace

std::string format_metrics(const Metrics& metrics, const std::vector<std::string>& class_names) {
  std::ostringstream out;
  std::size_t width = 5;
  for (std::size_t i = 0; i < metrics.classes.size(); ++i) width = std::max(width, class_name(class_names, i).size());
  out << std::left << std::setw(static_cast<int>(width) + 2) << "class" << std::right << std::setw(8) << "IoU" << std::setw(8)
      << "Acc" << std::setw(14) << "GT pixels"
      << "\n";
  for (std::size_t i = 0; i < metrics.classes.size(); ++i) {
    const auto& c = metrics.classes[i];
    out << std::left << std::setw(static_cast<int>(width) + 2) << class_name(class_names, i) << std::right << std::setw(8)
        << percent(c.iou) << std::setw(8) << percent(c.accuracy) << std::setw(14) << c.gt_pixels
        << (c.in_mean ? "" : "  (not in mean)") << "\n";
  }
  out << "\nmIoU " << percent(metrics.miou) << "  mAcc " << percent(metrics.macc) << "  aAcc " << percent(metrics.aacc)
      << "  fwIoU " << percent(metrics.fwiou) << "  (mean over " << mean_over_name(metrics.mean_over) << ": "
      << metrics.classes.size() - metrics.left_out.size() << " of " << metrics.classes.size() << " classes; " << metrics.pixels
      << " pixels)\n";
  if (!metrics.left_out.empty()) {
    out << "left out of the means:";
    for (auto c : metrics.left_out) out << " " << class_name(class_names, static_cast<std::size_t>(c));
    out << "\n";
  }
  return out.str();
}

nlohmann::json metrics_to_json(const Metrics& metrics, const std::vector<std::string>& class_names) {
  auto number = [](double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); };
  nlohmann::json out;
  out["mIoU"] = number(metrics.miou);
  out["mAcc"] = number(metrics.macc);
  out["aAcc"] = number(metrics.aacc);
  out["fwIoU"] = number(metrics.fwiou);
  out["pixels"] = metrics.pixels;
  out["mean_over"] = mean_over_name(metrics.mean_over);
  out["classes"] = nlohmann::json::array();
  out["left_out"] = nlohmann::json::array();
  for (auto c : metrics.left_out) out["left_out"].push_back(class_name(class_names, static_cast<std::size_t>(c)));
  for (std::size_t i = 0; i < metrics.classes.size(); ++i) {
    const auto& c = metrics.classes[i];
    out["classes"].push_back({{"index", i},
                              {"name", class_name(class_names, i)},
                              {"IoU", number(c.iou)},
                              {"Acc", number(c.accuracy)},
                              {"TP", c.tp},
                              {"FP", c.fp},
                              {"FN", c.fn},
                              {"gt_pixels", c.gt_pixels},
                              {"in_mean", c.in_mean}});
  }
  return out;
}

}  // namespace segdistill
