#pragma once
// Training curves from work dirs' metrics.jsonl: one panel per metric, every run a line;
// a run trained with several seeds is drawn as its mean with a band from the lowest to
// the highest seed. Used by `segdistill plot` and by the demo.
#include <string>
#include <vector>

namespace segdistill::plotting {

// One model trained with one or more seeds: its legend label and one work dir per seed.
struct RunGroup {
  std::string name;
  std::vector<std::string> dirs;
};

// "WORK_DIR" (labelled by its folder name) or "NAME=WORK_DIR[,WORK_DIR...]". Throws
// std::runtime_error naming the argument.
RunGroup parse_run_group(const std::string& argument);

// The panels `segdistill plot` draws when not told: training cross-entropy, the
// distillation terms, validation mIoU.
inline const std::vector<std::string> kDefaultMetrics = {"loss_ce", "distill", "mIoU"};

// What a metric names in metrics.jsonl: a key of the validation records (mIoU, mAcc,
// aAcc, fwIoU, IoU.CLASS, ...; drawn in percent), else of the training records (loss,
// loss_ce, lr, images_per_second, loss_DISTILLER, ...); "distill" is every distiller's
// weighted term. Draws one panel per metric, three to a row, into the PNG `output`.
// Throws std::runtime_error naming the file for unreadable metrics, and the metric with
// the keys the runs have when no run logged it.
void draw_training_curves(const std::vector<RunGroup>& runs, const std::vector<std::string>& metrics, const std::string& output);

}  // namespace segdistill::plotting
