#include "label_mapping.hpp"

#include "segdistill/data/dataset.hpp"

namespace segdistill::datasets_plugin {

cv::Mat LabelMapping::apply(const cv::Mat& raw, const std::string& path, const std::string& valid) const {
  cv::Mat label(raw.size(), CV_8UC1);
  for (int y = 0; y < raw.rows; ++y) {
    const uchar* in = raw.ptr<uchar>(y);
    uchar* out = label.ptr<uchar>(y);
    for (int x = 0; x < raw.cols; ++x) {
      const int mapped = table_[in[x]];
      if (mapped == kNotALabel)
        throw SampleError(path + ": label value " + std::to_string(in[x]) + " at (" + std::to_string(x) + ", " +
                          std::to_string(y) + ") is not " + valid);
      out[x] = static_cast<uchar>(mapped);
    }
  }
  return label;
}

}  // namespace segdistill::datasets_plugin
