// segdistill_demo_figures grid|table: the prediction grid and the table of tools/demo.sh.
#include <iostream>
#include <stdexcept>

#include <CLI/CLI.hpp>

#include "figures.hpp"

namespace {

// "NAME=DIR" -> (NAME, DIR).
std::vector<segdistill::demo::NamedDir> named_dirs(const std::vector<std::string>& args) {
  std::vector<segdistill::demo::NamedDir> out;
  for (const auto& a : args) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) throw std::runtime_error("--run '" + a + "': expected NAME=DIR");
    out.emplace_back(a.substr(0, eq), a.substr(eq + 1));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Draws the demo's prediction grid and prints its table of seeds (its curves: segdistill plot)."};
  app.require_subcommand(1);
  std::vector<std::string> runs;
  std::string output, data_root, baseline;
  int count = 4, cell = 128;
  CLI::App* grid = app.add_subcommand("grid", "image | label | each run's prediction, one row per val image");
  grid->add_option("--data", data_root, "VOC-layout data set root (its val split)")->required();
  grid->add_option("--run", runs, "NAME=PREDICTION_DIR holding ID.png palette predictions (repeatable)")->required();
  grid->add_option("--count", count, "rows (the first val images)")->check(CLI::Range(1, 64));
  grid->add_option("--cell", cell, "tile size in pixels")->check(CLI::Range(16, 1024));
  grid->add_option("--output", output, "PNG to write")->required();
  CLI::App* table =
      app.add_subcommand("table", "mIoU mean +- sd over seeds, each seed, parameters, images/s; wins against a baseline");
  table->add_option("--run", runs, "NAME=WORK_DIR[,WORK_DIR...] holding eval.json (repeatable, in row order)")->required();
  table->add_option("--baseline", baseline, "the row the others are compared with, seed by seed");
  std::string headline;
  double margin = 5.0;
  table->add_option("--headline", headline, "the row whose win over the baseline the last line states or denies");
  table->add_option("--margin", margin, "points on the mean the headline row must win by")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    if (table->parsed()) {
      std::vector<segdistill::demo::ModelScores> models;
      for (const auto& run : runs) models.push_back(segdistill::demo::read_scores(segdistill::plotting::parse_run_group(run)));
      std::cout << segdistill::demo::format_table(models, baseline, headline, margin);
      return 0;
    }
    segdistill::demo::draw_grid(data_root, named_dirs(runs), count, cell, output);
  } catch (const std::exception& e) {
    std::cerr << "segdistill_demo_figures: " << e.what() << "\n";
    return 1;
  }
  std::cout << output << "\n";
  return 0;
}
