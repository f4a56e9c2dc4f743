// segdistill data check | show | class-weights: look at a configured split before training
// on it, and derive the published class weights from it.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <opencv2/imgproc.hpp>

#include "command.hpp"
#include "plugin_setup.hpp"
#include "segdistill/config/config.hpp"
#include "segdistill/core/check.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/progress.hpp"
#include "segdistill/core/untrusted_file.hpp"
#include "segdistill/data/image_io.hpp"
#include "segdistill/data/loader.hpp"
#include "segdistill/data/sections.hpp"
#include "segdistill/evaluation/output_paths.hpp"
#include "segdistill/evaluation/overlay.hpp"

namespace fs = std::filesystem;

namespace segdistill::cli {

namespace {

struct DataArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::string split = "train";
  std::int64_t count = 8;
  std::string output;
  std::uint64_t seed = 0;
};

// How the scan reads sample `index` of the split.
using SampleReader = std::function<Sample(const DataSplit&, std::size_t)>;

struct Scan {
  std::size_t samples = 0;
  cv::Size smallest{INT32_MAX, INT32_MAX}, largest{0, 0};
  std::vector<std::uint64_t> pixels = std::vector<std::uint64_t>(256, 0);
  std::vector<std::string> bad;
};

// Every sample of `split` read by `read` in `threads` threads: label value counts, image
// sizes and the samples that could not be read.
Scan scan_split(const DataSplit& split, int threads, const SampleReader& read, const std::string& title) {
  Scan scan;
  std::mutex mutex;
  std::atomic<std::size_t> next{0}, done{0};
  const std::size_t n = split.dataset->size();
  ProgressBar bar(title + " " + split.key, static_cast<std::int64_t>(n));
  auto work = [&] {
    std::vector<std::uint64_t> local(256, 0);
    for (std::size_t i = next++; i < n; i = next++) {
      try {
        const Sample s = read(split, i);
        for (int y = 0; y < s.label.rows; ++y) {
          const uchar* row = s.label.ptr<uchar>(y);
          for (int x = 0; x < s.label.cols; ++x) ++local[row[x]];
        }
        std::lock_guard<std::mutex> lock(mutex);
        ++scan.samples;
        scan.smallest = {std::min(scan.smallest.width, s.image.cols), std::min(scan.smallest.height, s.image.rows)};
        scan.largest = {std::max(scan.largest.width, s.image.cols), std::max(scan.largest.height, s.image.rows)};
      } catch (const Error& e) {
        std::lock_guard<std::mutex> lock(mutex);
        scan.bad.push_back(split.dataset->id(i) + ": " + e.what());
      } catch (const cv::Exception& e) {
        std::lock_guard<std::mutex> lock(mutex);
        scan.bad.push_back(split.dataset->id(i) + ": OpenCV could not read it: " + e.err);
      }
      ++done;
    }
    std::lock_guard<std::mutex> lock(mutex);
    for (std::size_t v = 0; v < 256; ++v) scan.pixels[v] += local[v];
  };
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) workers.emplace_back(work);
  while (done < n) {
    bar.update(static_cast<std::int64_t>(done));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (auto& w : workers) w.join();
  bar.update(static_cast<std::int64_t>(n));
  bar.finish();
  std::sort(scan.bad.begin(), scan.bad.end());
  return scan;
}

void print_bad_samples(const Scan& scan) {
  std::cout << "\nbad samples (" << scan.bad.size() << "):\n";
  for (const auto& b : scan.bad) std::cout << "  " << printable(b) << "\n";
}

int run_check(const GlobalOptions& globals, const DataArgs& args) {
  const Config config = Config::load(args.config, args.overrides);
  load_plugins(globals, &config);
  const DataSplit split = build_split(config, args.split);
  const DatasetInfo& info = split.dataset->info();
  const Scan scan = scan_split(
      split, globals.worker_threads(), [](const DataSplit& s, std::size_t i) { return s.dataset->load(i); }, "data check");

  std::cout << split.key << ": " << split.dataset->size() << " samples listed, " << scan.samples << " readable, "
            << scan.bad.size() << " bad\n";
  if (scan.samples > 0)
    std::cout << "image size: " << scan.smallest.width << "x" << scan.smallest.height << " to " << scan.largest.width << "x"
              << scan.largest.height << " (width x height)\n";
  std::uint64_t total = 0;
  for (auto p : scan.pixels) total += p;
  std::cout << "\n"
            << std::left << std::setw(5) << "id" << std::setw(24) << "class" << std::right << std::setw(14) << "pixels"
            << std::setw(10) << "share"
            << "\n";
  const auto row = [&](const std::string& index, const std::string& name, std::uint64_t pixels) {
    std::cout << std::left << std::setw(5) << index << std::setw(24) << name << std::right << std::setw(14) << pixels
              << std::setw(9) << std::fixed << std::setprecision(2)
              << (total ? 100.0 * static_cast<double>(pixels) / static_cast<double>(total) : 0.0) << "%\n";
  };
  for (std::int64_t c = 0; c < info.num_classes(); ++c)
    row(std::to_string(c), info.class_names[static_cast<std::size_t>(c)], scan.pixels[static_cast<std::size_t>(c)]);
  row(std::to_string(info.ignore_index), "(ignore)", scan.pixels[static_cast<std::size_t>(info.ignore_index)]);
  std::vector<std::string> absent;
  for (std::int64_t c = 0; c < info.num_classes(); ++c)
    if (scan.pixels[static_cast<std::size_t>(c)] == 0) absent.push_back(info.class_names[static_cast<std::size_t>(c)]);
  if (!absent.empty()) {
    std::cout << "\nclasses with no pixel in this split (" << absent.size() << "):";
    for (const auto& a : absent) std::cout << " " << a;
    std::cout << "\n";
  }
  if (!scan.bad.empty()) {
    print_bad_samples(scan);
    return 1;
  }
  return 0;
}

// The published class weights (utils/calculate_weights.py): one pass over the training
// samples as the pipeline makes them, counts of the labels in [0, classes), and
// w_c = 1 / ln(1.02 + f_c) with f_c the class's share of those counts.
int run_class_weights(const GlobalOptions& globals, const DataArgs& args) {
  const Config config = Config::load(args.config, args.overrides);
  load_plugins(globals, &config);
  const DataSplit split = build_split(config, args.split);
  const DatasetInfo& info = split.dataset->info();
  if (!args.output.empty()) refuse_overwriting_inputs("--output", args.output, {args.config});
  const std::uint64_t seed = args.seed;
  const Scan scan = scan_split(
      split, globals.worker_threads(), [seed](const DataSplit& s, std::size_t i) { return load_transformed(s, i, seed, 0); },
      "class weights");
  if (!scan.bad.empty()) {
    print_bad_samples(scan);
    throw Error(args.config + ": " + std::to_string(scan.bad.size()) + " samples of " + split.key +
                " could not be read (listed above): the weights would leave them out");
  }
  std::uint64_t total = 0;
  for (std::int64_t c = 0; c < info.num_classes(); ++c) total += scan.pixels[static_cast<std::size_t>(c)];
  require(total > 0, "{}: no pixel of {} has a label in [0, {}): no weights to compute", args.config, split.key,
          info.num_classes());
  std::vector<double> weights;
  std::cout << std::left << std::setw(5) << "id" << std::setw(24) << "class" << std::right << std::setw(14) << "pixels"
            << std::setw(10) << "share" << std::setw(10) << "weight\n";
  for (std::int64_t c = 0; c < info.num_classes(); ++c) {
    const auto pixels = scan.pixels[static_cast<std::size_t>(c)];
    const double share = static_cast<double>(pixels) / static_cast<double>(total);
    weights.push_back(1.0 / std::log(1.02 + share));
    std::cout << std::left << std::setw(5) << c << std::setw(24) << info.class_names[static_cast<std::size_t>(c)] << std::right
              << std::setw(14) << pixels << std::setw(9) << std::fixed << std::setprecision(2) << 100.0 * share << "%"
              << std::setw(10) << std::setprecision(4) << weights.back() << "\n";
  }
  std::ostringstream toml;
  toml << std::setprecision(17) << "class_weights = [";
  for (std::size_t c = 0; c < weights.size(); ++c) toml << (c ? ", " : "") << weights[c];
  toml << "]";
  std::cout << "\n[train.loss]\n" << toml.str() << "\n";
  if (!args.output.empty()) {
    // A config file of its own (written atomically), for the training config's _base_ list.
    Config::parse("[train.loss]\n" + toml.str() + "\n", args.output).save(args.output);
    std::cout << "wrote " << args.output << "\n";
  }
  return 0;
}

int run_show(const GlobalOptions& globals, const DataArgs& args) {
  const Config config = Config::load(args.config, args.overrides);
  load_plugins(globals, &config);
  const DataSplit split = build_split(config, args.split);
  std::error_code ec;
  fs::create_directories(args.output, ec);
  if (ec) throw Error(args.output + ": cannot create the folder: " + ec.message());
  const std::size_t count = std::min<std::size_t>(static_cast<std::size_t>(args.count), split.dataset->size());
  for (std::size_t i = 0; i < count; ++i) {
    const Sample sample = load_transformed(split, i, args.seed, 0);
    const cv::Mat image = displayable(sample.image);
    const fs::path base = fs::path(args.output) / sample.id;
    write_rgb_image(base.string() + "_image.png", image);
    if (!sample.label.empty())
      write_rgb_image(base.string() + "_overlay.png", overlay(image, sample.label, split.dataset->info()));
  }
  std::cout << "wrote " << count << " samples of " << split.key << " as seen after the pipeline to " << args.output << "\n";
  return 0;
}

void add_common(CLI::App& app, DataArgs& args) {
  app.add_option("CONFIG", args.config, "TOML config with a [data] section")->required()->check(CLI::ExistingFile);
  app.add_option("--set", args.overrides, "override a config key (repeatable)")->type_name("KEY=VALUE");
  app.add_option("--split", args.split, "train, val or test")
      ->capture_default_str()
      ->check(CLI::IsMember({"train", "val", "test"}));
}

}  // namespace

Runner attach_data(CLI::App& app) {
  app.require_subcommand(1);
  auto check_args = std::make_shared<DataArgs>();
  auto show_args = std::make_shared<DataArgs>();
  CLI::App* check = app.add_subcommand("check", "scan a split: counts, image sizes, class pixel shares, every bad sample");
  add_common(*check, *check_args);
  CLI::App* show = app.add_subcommand("show", "write transformed samples as images and label overlays");
  add_common(*show, *show_args);
  show->add_option("--count", show_args->count, "samples to write")->capture_default_str()->check(CLI::Range(1, 100000));
  show->add_option("--output", show_args->output, "folder for the PNGs")->required();
  show->add_option("--seed", show_args->seed, "seed of the random transforms")->capture_default_str();
  auto weights_args = std::make_shared<DataArgs>();
  CLI::App* weights = app.add_subcommand(
      "class-weights", "the published class weights (1 / ln(1.02 + share of each class)) over the augmented training split");
  add_common(*weights, *weights_args);
  weights->add_option("--output", weights_args->output, "also write them as a TOML file to use as a _base_ ([train.loss])");
  weights->add_option("--seed", weights_args->seed, "seed of the random transforms")->capture_default_str();
  return [=](const GlobalOptions& globals) {
    if (check->parsed()) return run_check(globals, *check_args);
    if (weights->parsed()) return run_class_weights(globals, *weights_args);
    return run_show(globals, *show_args);
  };
}

}  // namespace segdistill::cli
