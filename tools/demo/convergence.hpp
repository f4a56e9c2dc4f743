#pragma once
// Whether a training run had settled: its validations (metrics.jsonl), the last two of
// which must agree within a tolerance, after enough of them to see the curve.
#include <string>
#include <vector>

namespace segdistill::demo {

struct Validation {
  long long iteration = 0;
  double miou = 0;  // percent
};

// The "val" records of WORK_DIR/metrics.jsonl, one per iteration (a repeated iteration
// keeps its last record), in iteration order. Lines that are not JSON objects (a line
// being written) are skipped; an unreadable file (missing, over 1 GiB, not a regular
// file) throws, naming it.
std::vector<Validation> read_validations(const std::string& work_dir);

struct Convergence {
  bool converged = false;
  std::string reason;  // why not, or how close the last two were
};

// Converged: at least `min_validations` validations and the last two within `tolerance`
// mIoU points.
Convergence check_convergence(const std::vector<Validation>& validations, std::size_t min_validations = 6,
                              double tolerance = 1.0);

}  // namespace segdistill::demo
