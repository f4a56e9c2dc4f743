#pragma once
// The one evaluator of segdistill: a confusion matrix over pixels whose label is not the
// ignore index, and the metrics derived from it. Training-time validation, `eval` and
// `eval --pred-dir` all use it.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <opencv2/core.hpp>

#include "segdistill/core/api.hpp"

namespace segdistill {

// Which classes the means (mIoU, mAcc) run over.
enum class MeanOver {
  Union,    // classes whose union (TP + FP + FN) is non-zero: absent from labels and predictions left out (default)
  Present,  // classes with ground-truth pixels (detectron2's convention)
  All,      // every class; a class without a union counts 0 IoU, one without ground truth 0 accuracy
};

SEGDISTILL_API MeanOver parse_mean_over(const std::string& name);  // "union", "present", "all"
SEGDISTILL_API const char* mean_over_name(MeanOver mean_over);

struct ClassMetrics {
  double iou = 0;       // NaN when the class has no union
  double accuracy = 0;  // TP / ground truth; NaN without ground truth
  std::int64_t tp = 0, fp = 0, fn = 0, gt_pixels = 0;
  bool in_mean = false;  // counted in mIoU under the chosen rule
};

struct Metrics {
  std::vector<ClassMetrics> classes;
  double miou = 0, macc = 0, aacc = 0, fwiou = 0;
  std::int64_t pixels = 0;             // evaluated (non-ignored) pixels
  std::vector<std::int64_t> left_out;  // classes not in the means
  MeanOver mean_over = MeanOver::Union;
};

class SEGDISTILL_API Evaluator {
 public:
  Evaluator(std::int64_t num_classes, std::int64_t ignore_index);

  // Adds prediction/label pairs of the same shape (H x W or N x H x W, integer tensors).
  // Error for a prediction outside [0, num_classes) or a label that is neither a class
  // nor the ignore index (`source` names the sample in the message).
  void add(const at::Tensor& prediction, const at::Tensor& label, const std::string& source = "");
  // The same for CV_8UC1 images.
  void add(const cv::Mat& prediction, const cv::Mat& label, const std::string& source = "");
  // Adds another evaluator's counts (from another thread or process).
  void merge(const Evaluator& other);
  // Adds a row-major num_classes x num_classes confusion matrix (label row, prediction
  // column), as confusion() returns it: counts summed by other processes.
  void add_confusion(const std::vector<std::int64_t>& counts);

  std::int64_t num_classes() const { return num_classes_; }
  std::int64_t ignore_index() const { return ignore_index_; }
  // Row = ground truth, column = prediction; num_classes x num_classes, row-major.
  const std::vector<std::int64_t>& confusion() const { return confusion_; }
  Metrics metrics(MeanOver mean_over = MeanOver::Union) const;

 private:
  std::int64_t num_classes_;
  std::int64_t ignore_index_;
  std::vector<std::int64_t> confusion_;
};

}  // namespace segdistill
