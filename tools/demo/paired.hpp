#pragma once
// Paired comparison of two settings trained on the same seeds: the per-seed differences,
// their mean and a Student-t confidence interval, and the verdict the interval supports.
#include <string>
#include <vector>

namespace segdistill::demo {

struct PairedComparison {
  std::vector<double> differences;  // row - baseline, seed by seed
  double mean = 0;
  double low = 0, high = 0;   // the interval; equal to `mean` with one seed (no interval)
  bool has_interval = false;  // at least two seeds
};

// The two-sided `confidence` quantile of Student's t with `degrees` degrees of freedom
// (for example 4.3027 for 0.95 and 2).
double t_quantile(double confidence, int degrees);

// row[i] and baseline[i] come from seed i. Throws std::invalid_argument when the sizes
// differ or are zero.
PairedComparison compare_paired(const std::vector<double>& row, const std::vector<double>& baseline, double confidence = 0.95);

// What the interval shows, in the demo's words: "beats BASELINE by X [lo, hi]" when the
// whole interval is above zero, "worse than BASELINE by X [lo, hi]" when it is below,
// otherwise "no difference shown: X [lo, hi]"; with one seed, "one seed: no interval".
std::string verdict(const PairedComparison& comparison, const std::string& baseline);

}  // namespace segdistill::demo
