#pragma once
// The prediction grid and the table of tools/demo.sh (its curves are `segdistill plot`).
#include <string>
#include <utility>
#include <vector>

#include "convergence.hpp"
#include "training_curves.hpp"

namespace segdistill::demo {

// A named run: its label and a folder (a work dir, or a folder of predictions).
using NamedDir = std::pair<std::string, std::string>;

using plotting::RunGroup;

// A grid with one row per validation image of the VOC-layout data set at `data_root`:
// image, label, then each run's palette prediction (RUN_DIR/ID.png).
void draw_grid(const std::string& data_root, const std::vector<NamedDir>& predictions, int count, int cell,
               const std::string& output);

// One setting's runs, one per seed: each work dir's eval.json (`segdistill eval --json`)
// and its validations during training (metrics.jsonl).
struct ModelScores {
  std::string name;
  std::vector<double> miou;              // percent, one per seed, in the order given
  std::vector<Convergence> convergence;  // one per seed, same order
  long long parameters = 0;
  double mean() const;
  double spread() const;  // sample standard deviation (0 for one seed)
};

ModelScores read_scores(const RunGroup& group);

// Evaluation speed of a network measured alone (`segdistill eval --json` on an idle
// machine): its name and images/s.
struct Speed {
  std::string name;
  double images_per_second = 0;
};

// Reads "samples" / "seconds" of an eval report; throws naming the file when absent.
Speed read_speed(const std::string& name, const std::string& eval_json);

// The demo's table: per setting the mean +- spread, each seed's mIoU (columns headed by
// `seed_labels` when given), parameters and how many runs converged, with every run
// that did not named below it; the speeds, if any; then each other row with as many
// seeds compared with `baseline` seed by seed: mean difference, 95% t-interval, the
// differences and the verdict the interval supports; last, a headline about `headline`'s
// row from its interval. Plain text.
std::string format_table(const std::vector<ModelScores>& models, const std::vector<std::string>& seed_labels,
                         const std::vector<Speed>& speeds, const std::string& baseline, const std::string& headline = "");

}  // namespace segdistill::demo
