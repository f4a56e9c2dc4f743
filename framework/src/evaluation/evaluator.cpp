#include "segdistill/evaluation/evaluator.hpp"

#include <cmath>
#include <limits>

#include <ATen/ATen.h>

#include "segdistill/core/error.hpp"

namespace segdistill {

MeanOver parse_mean_over(const std::string& name) {
  if (name == "union") return MeanOver::Union;
  if (name == "present") return MeanOver::Present;
  if (name == "all") return MeanOver::All;
  throw Error("mean_over: invalid value '" + name + "'; valid values: union, present, all");
}

const char* mean_over_name(MeanOver mean_over) {
  switch (mean_over) {
    case MeanOver::Union:
      return "union";
    case MeanOver::Present:
      return "present";
    case MeanOver::All:
      return "all";
  }
  return "?";
}

Evaluator::Evaluator(std::int64_t num_classes, std::int64_t ignore_index)
    : num_classes_(num_classes), ignore_index_(ignore_index), confusion_(static_cast<std::size_t>(num_classes * num_classes), 0) {
  if (num_classes < 1) throw Error("evaluator: num_classes must be at least 1");
}

namespace {
std::string prefix(const std::string& source) { return source.empty() ? "" : source + ": "; }
}  // namespace

void Evaluator::add(const at::Tensor& prediction, const at::Tensor& label, const std::string& source) {
  if (!prediction.sizes().equals(label.sizes()))
    throw Error(prefix(source) + "prediction of shape " + c10::str(prediction.sizes()) + " and label of shape " +
                c10::str(label.sizes()) + " differ");
  const at::Tensor gt = label.reshape({-1}).to(at::kLong);
  const at::Tensor pred = prediction.reshape({-1}).to(at::kLong);
  const at::Tensor valid = gt != ignore_index_;
  const at::Tensor gt_valid = gt.masked_select(valid);
  const at::Tensor pred_valid = pred.masked_select(valid);
  if (gt_valid.numel() == 0) return;
  const auto [pred_min, pred_max] = at::aminmax(pred_valid);
  if (pred_min.item<std::int64_t>() < 0 || pred_max.item<std::int64_t>() >= num_classes_)
    throw Error(
        prefix(source) + "prediction value " +
        std::to_string(pred_min.item<std::int64_t>() < 0 ? pred_min.item<std::int64_t>() : pred_max.item<std::int64_t>()) +
        " outside [0, " + std::to_string(num_classes_) + ")");
  const auto [gt_min, gt_max] = at::aminmax(gt_valid);
  if (gt_min.item<std::int64_t>() < 0 || gt_max.item<std::int64_t>() >= num_classes_)
    throw Error(prefix(source) + "label value " +
                std::to_string(gt_min.item<std::int64_t>() < 0 ? gt_min.item<std::int64_t>() : gt_max.item<std::int64_t>()) +
                " is neither a class (0.." + std::to_string(num_classes_ - 1) + ") nor the ignore index " +
                std::to_string(ignore_index_));
  // One bincount over gt * C + pred fills the whole matrix.
  const at::Tensor counts = at::bincount(gt_valid * num_classes_ + pred_valid, {}, num_classes_ * num_classes_).cpu();
  const auto* data = counts.data_ptr<std::int64_t>();
  for (std::size_t i = 0; i < confusion_.size(); ++i) confusion_[i] += data[i];
}

void Evaluator::add(const cv::Mat& prediction, const cv::Mat& label, const std::string& source) {
  if (prediction.size() != label.size())
    throw Error(prefix(source) + "prediction is " + std::to_string(prediction.cols) + "x" + std::to_string(prediction.rows) +
                " but the label is " + std::to_string(label.cols) + "x" + std::to_string(label.rows));
  if (prediction.type() != CV_8UC1 || label.type() != CV_8UC1) throw Error(prefix(source) + "expected 8-bit index images");
  std::vector<std::int64_t> local(confusion_.size(), 0);
  for (int y = 0; y < label.rows; ++y) {
    const uchar* g = label.ptr<uchar>(y);
    const uchar* p = prediction.ptr<uchar>(y);
    for (int x = 0; x < label.cols; ++x) {
      if (g[x] == ignore_index_) continue;
      if (p[x] >= num_classes_)
        throw Error(prefix(source) + "prediction value " + std::to_string(p[x]) + " outside [0, " + std::to_string(num_classes_) +
                    ")");
      if (g[x] >= num_classes_)
        throw Error(prefix(source) + "label value " + std::to_string(g[x]) + " is neither a class (0.." +
                    std::to_string(num_classes_ - 1) + ") nor the ignore index " + std::to_string(ignore_index_));
      ++local[static_cast<std::size_t>(g[x] * num_classes_ + p[x])];
    }
  }
  for (std::size_t i = 0; i < confusion_.size(); ++i) confusion_[i] += local[i];
}

void Evaluator::merge(const Evaluator& other) {
  if (other.num_classes_ != num_classes_ || other.ignore_index_ != ignore_index_)
    throw Error("evaluator: cannot merge counts of " + std::to_string(other.num_classes_) + " classes into " +
                std::to_string(num_classes_));
  for (std::size_t i = 0; i < confusion_.size(); ++i) confusion_[i] += other.confusion_[i];
}

void Evaluator::add_confusion(const std::vector<std::int64_t>& counts) {
  if (counts.size() != confusion_.size())
    throw Error("evaluator: a confusion matrix of " + std::to_string(counts.size()) + " counts does not fit " +
                std::to_string(num_classes_) + " classes");
  for (std::size_t i = 0; i < confusion_.size(); ++i) confusion_[i] += counts[i];
}

Metrics Evaluator::metrics(MeanOver mean_over) const {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto c = static_cast<std::size_t>(num_classes_);
  Metrics m;
  m.mean_over = mean_over;
  m.classes.resize(c);
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < c; ++i) {
    ClassMetrics& k = m.classes[i];
    std::int64_t row = 0, column = 0;
    for (std::size_t j = 0; j < c; ++j) {
      row += confusion_[i * c + j];
      column += confusion_[j * c + i];
    }
    k.tp = confusion_[i * c + i];
    k.fp = column - k.tp;
    k.fn = row - k.tp;
    k.gt_pixels = row;
    const std::int64_t union_pixels = k.tp + k.fp + k.fn;
    k.iou = union_pixels > 0 ? static_cast<double>(k.tp) / static_cast<double>(union_pixels) : nan;
    k.accuracy = row > 0 ? static_cast<double>(k.tp) / static_cast<double>(row) : nan;
    correct += k.tp;
    m.pixels += row;
  }
  double iou_sum = 0, acc_sum = 0, fw = 0;
  std::size_t iou_count = 0, acc_count = 0;
  for (std::size_t i = 0; i < c; ++i) {
    ClassMetrics& k = m.classes[i];
    const bool has_union = !std::isnan(k.iou), has_gt = k.gt_pixels > 0;
    k.in_mean = mean_over == MeanOver::All || (mean_over == MeanOver::Union ? has_union : has_gt);
    if (!k.in_mean) {
      m.left_out.push_back(static_cast<std::int64_t>(i));
      continue;
    }
    iou_sum += has_union ? k.iou : 0.0;
    ++iou_count;
    if (has_gt || mean_over == MeanOver::All) {
      acc_sum += has_gt ? k.accuracy : 0.0;
      ++acc_count;
    }
    if (has_union && m.pixels > 0) fw += static_cast<double>(k.gt_pixels) / static_cast<double>(m.pixels) * k.iou;
  }
  m.miou = iou_count ? iou_sum / static_cast<double>(iou_count) : nan;
  m.macc = acc_count ? acc_sum / static_cast<double>(acc_count) : nan;
  m.aacc = m.pixels ? static_cast<double>(correct) / static_cast<double>(m.pixels) : nan;
  m.fwiou = m.pixels ? fw : nan;
  return m;
}

}  // namespace segdistill
