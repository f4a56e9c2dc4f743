#pragma once
// The two pictures of tools/demo.sh.
#include <string>
#include <utility>
#include <vector>

namespace segdistill::demo {

// A named run: its label and a folder (a work dir, or a folder of predictions).
using NamedDir = std::pair<std::string, std::string>;

// Training curves from each run's metrics.jsonl: cross-entropy, distillation terms and
// validation mIoU against the iteration, one PNG. Throws std::runtime_error naming the
// file for unreadable metrics.
void draw_curves(const std::vector<NamedDir>& runs, const std::string& output);

// A grid with one row per validation image of the VOC-layout data set at `data_root`:
// image, label, then each run's palette prediction (RUN_DIR/ID.png).
void draw_grid(const std::string& data_root, const std::vector<NamedDir>& predictions, int count, int cell,
               const std::string& output);

}  // namespace segdistill::demo
