#include "geometry.hpp"

#include <opencv2/imgproc.hpp>

namespace segdistill::transforms_plugin {

void resize_sample(Sample& sample, cv::Size size) {
  if (sample.image.size() == size) return;
  cv::resize(sample.image, sample.image, size, 0, 0, cv::INTER_LINEAR);
  if (!sample.label.empty()) cv::resize(sample.label, sample.label, size, 0, 0, cv::INTER_NEAREST);
}

void pad_sample(Sample& sample, cv::Size size, double image_fill, int label_fill) {
  const int bottom = std::max(0, size.height - sample.image.rows);
  const int right = std::max(0, size.width - sample.image.cols);
  if (bottom == 0 && right == 0) return;
  cv::copyMakeBorder(sample.image, sample.image, 0, bottom, 0, right, cv::BORDER_CONSTANT, cv::Scalar::all(image_fill));
  if (!sample.label.empty())
    cv::copyMakeBorder(sample.label, sample.label, 0, bottom, 0, right, cv::BORDER_CONSTANT, cv::Scalar(label_fill));
}

}  // namespace segdistill::transforms_plugin
