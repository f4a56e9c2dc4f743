#pragma once
// Raw label values mapped to training classes through a 256-entry table, the encoding of
// the toolbox's Cityscapes, CamVid, ADE20K and COCO-Stuff-164k annotations.
#include <array>
#include <string>

#include <opencv2/core.hpp>

namespace segdistill::datasets_plugin {

// raw value -> class index or the ignore index; kNotALabel: the value is an error.
class LabelMapping {
 public:
  static constexpr int kNotALabel = -1;
  LabelMapping() { table_.fill(kNotALabel); }
  void set(int raw, int mapped) { table_.at(static_cast<std::size_t>(raw)) = mapped; }
  // `raw` (8-bit, one channel) mapped; SampleError naming `path`, the value and `valid`
  // (what the values may be) at the first value that maps to nothing.
  cv::Mat apply(const cv::Mat& raw, const std::string& path, const std::string& valid) const;

 private:
  std::array<int, 256> table_{};
};

}  // namespace segdistill::datasets_plugin
