// segdistill_demo_figures grid|table|progress: the prediction grid, the table and the
// live progress of tools/demo.sh.
#include <unistd.h>

#include <iostream>
#include <stdexcept>

#include <CLI/CLI.hpp>

#include "figures.hpp"
#include "progress.hpp"

namespace {

// "NAME=VALUE" -> (NAME, VALUE); `option` names the flag in the error.
std::vector<segdistill::demo::NamedDir> named_values(const std::vector<std::string>& args, const std::string& option) {
  std::vector<segdistill::demo::NamedDir> out;
  for (const auto& a : args) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) throw std::runtime_error(option + " '" + a + "': expected NAME=PATH");
    out.emplace_back(a.substr(0, eq), a.substr(eq + 1));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Draws the demo's prediction grid, prints its table of seeds and its live progress (its curves: segdistill plot)."};
  app.require_subcommand(1);
  std::vector<std::string> runs, speeds, seed_labels;
  std::string output, data_root, baseline, headline, plan, stop_file;
  int count = 4, cell = 128, parallel = 1;
  CLI::App* grid = app.add_subcommand("grid", "image | label | each run's prediction, one row per val image");
  grid->add_option("--data", data_root, "VOC-layout data set root (its val split)")->required();
  grid->add_option("--run", runs, "NAME=PREDICTION_DIR holding ID.png palette predictions (repeatable)")->required();
  grid->add_option("--count", count, "rows (the first val images)")->check(CLI::Range(1, 64));
  grid->add_option("--cell", cell, "tile size in pixels")->check(CLI::Range(16, 1024));
  grid->add_option("--output", output, "PNG to write")->required();
  CLI::App* table = app.add_subcommand(
      "table", "mIoU over seeds, convergence of each run, and paired comparisons with a baseline (95% t-intervals)");
  table->add_option("--run", runs, "NAME=WORK_DIR[,WORK_DIR...] holding eval.json and metrics.jsonl (repeatable, in row order)")
      ->required();
  table->add_option("--seed-labels", seed_labels, "the seeds' names, in the order of each --run's dirs")->delimiter(',');
  table->add_option("--speed", speeds, "NAME=EVAL_JSON of an evaluation timed alone (repeatable)");
  table->add_option("--baseline", baseline, "the row the others are compared with, seed by seed");
  table->add_option("--headline", headline, "the row whose comparison with the baseline the last line states");
  CLI::App* progress =
      app.add_subcommand("progress", "watch a plan of training runs: one updating line, a line per finished run");
  progress->add_option("--plan", plan, "tab-separated LABEL, WORK_DIR, ITERATIONS, START_MARKER, DONE_MARKER per line")
      ->required();
  progress->add_option("--parallel", parallel, "runs trained at a time (for the ETA)")->check(CLI::Range(1, 64));
  progress->add_option("--stop-file", stop_file, "stop watching once this file exists")->required();
  CLI11_PARSE(app, argc, argv);
  try {
    if (table->parsed()) {
      std::vector<segdistill::demo::ModelScores> models;
      for (const auto& run : runs) models.push_back(segdistill::demo::read_scores(segdistill::plotting::parse_run_group(run)));
      std::vector<segdistill::demo::Speed> measured;
      for (const auto& [name, path] : named_values(speeds, "--speed"))
        measured.push_back(segdistill::demo::read_speed(name, path));
      std::cout << segdistill::demo::format_table(models, seed_labels, measured, baseline, headline);
      return 0;
    }
    if (progress->parsed()) {
      segdistill::demo::watch(segdistill::demo::read_plan(plan), parallel, stop_file, std::cerr, isatty(STDERR_FILENO) != 0);
      return 0;
    }
    segdistill::demo::draw_grid(data_root, named_values(runs, "--run"), count, cell, output);
  } catch (const std::exception& e) {
    std::cerr << "segdistill_demo_figures: " << e.what() << "\n";
    return 1;
  }
  std::cout << output << "\n";
  return 0;
}
