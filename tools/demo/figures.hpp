#pragma once
// The prediction grid and the table of tools/demo.sh (its curves are `segdistill plot`).
#include <string>
#include <utility>
#include <vector>

#include "training_curves.hpp"

namespace segdistill::demo {

// A named run: its label and a folder (a work dir, or a folder of predictions).
using NamedDir = std::pair<std::string, std::string>;

using plotting::RunGroup;

// A grid with one row per validation image of the VOC-layout data set at `data_root`:
// image, label, then each run's palette prediction (RUN_DIR/ID.png).
void draw_grid(const std::string& data_root, const std::vector<NamedDir>& predictions, int count, int cell,
               const std::string& output);

// One model's scores over its seeds (each seed's DIR/eval.json, written by `segdistill eval --json`).
struct ModelScores {
  std::string name;
  std::vector<double> miou;  // percent, one per seed, in the order given
  long long parameters = 0;
  double images_per_second = 0;  // mean over seeds
  double mean() const;
  double spread() const;  // sample standard deviation (0 for one seed)
};

ModelScores read_scores(const RunGroup& group);

// The demo's table: per model the mean +- spread, each seed's mIoU, parameters and
// images/s; then, against `baseline` (a row's name), for every other row with as many
// seeds: on how many seeds it beats the baseline and by how much on the mean; and which
// of those rows is best. With `headline` (a row's name), a last line says plainly whether
// that row beats the baseline on every seed by at least `margin` points on the mean and
// is the best row. Plain text.
std::string format_table(const std::vector<ModelScores>& models, const std::string& baseline, const std::string& headline = "",
                         double margin = 5.0);

}  // namespace segdistill::demo
