// segdistill plot RUN... [--output FILE.png] [--metrics KEY,KEY...]
#include <iostream>
#include <memory>
#include <stdexcept>

#include <CLI/CLI.hpp>

#include "command.hpp"
#include "segdistill/core/error.hpp"
#include "training_curves.hpp"

namespace segdistill::cli {

namespace {

struct PlotArgs {
  std::vector<std::string> runs;
  std::string output = "curves.png";
  std::vector<std::string> metrics = plotting::kDefaultMetrics;
};

int run_plot(const PlotArgs& args) {
  std::vector<plotting::RunGroup> groups;
  try {
    for (const auto& run : args.runs) groups.push_back(plotting::parse_run_group(run));
    plotting::draw_training_curves(groups, args.metrics, args.output);
  } catch (const std::runtime_error& e) {
    throw Error(std::string("plot: ") + e.what());
  }
  std::cout << "wrote " << args.output << "\n";
  return 0;
}

}  // namespace

Runner attach_plot(CLI::App& app) {
  auto args = std::make_shared<PlotArgs>();
  app.add_option("RUN", args->runs,
                 "a work dir (its metrics.jsonl), or NAME=DIR[,DIR...]: one model trained with several seeds, drawn as "
                 "the mean with a band from the lowest to the highest seed")
      ->required();
  app.add_option("--output", args->output, "PNG to write")->capture_default_str();
  app.add_option("--metrics", args->metrics,
                 "one panel each: a validation key (mIoU, mAcc, aAcc, fwIoU; in percent), a training key (loss, loss_ce, "
                 "lr, images_per_second, loss_DISTILLER, ...) or 'distill' (every distiller's weighted term)")
      ->delimiter(',')
      ->capture_default_str();
  return [args](const GlobalOptions&) { return run_plot(*args); };
}

}  // namespace segdistill::cli
