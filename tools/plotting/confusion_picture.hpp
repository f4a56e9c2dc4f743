#pragma once
// The confusion matrix of an evaluation as a picture: rows are the labelled class, columns
// the predicted one, each row normalised to 1 (the share of a class's pixels predicted as
// each class; the diagonal is the class's accuracy), with class names on both axes.
#include <cstdint>
#include <string>
#include <vector>

namespace segdistill::plotting {

// `counts`: row-major classes x classes pixel counts (label row, prediction column), as
// Evaluator::confusion() holds them. Throws std::runtime_error when the sizes disagree or
// the PNG cannot be written.
void draw_confusion_matrix(const std::vector<std::int64_t>& counts, const std::vector<std::string>& class_names,
                           const std::string& output);

// The cell size and margins, so that tests can find a cell.
struct ConfusionLayout {
  int cell = 0;  // pixels per cell side
  int left = 0;  // x of the first column
  int top = 0;   // y of the first row
};
ConfusionLayout confusion_layout(std::size_t classes, const std::vector<std::string>& class_names);

}  // namespace segdistill::plotting
