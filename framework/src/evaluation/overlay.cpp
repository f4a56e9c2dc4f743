#include "segdistill/evaluation/overlay.hpp"

namespace segdistill {

cv::Mat colourize(const cv::Mat& label, const DatasetInfo& info) {
  cv::Mat out(label.size(), CV_8UC3);
  for (int y = 0; y < label.rows; ++y) {
    const uchar* in = label.ptr<uchar>(y);
    auto* px = out.ptr<cv::Vec3b>(y);
    for (int x = 0; x < label.cols; ++x) {
      const int v = in[x];
      px[x] = v == info.ignore_index                              ? cv::Vec3b(255, 255, 255)
              : static_cast<std::size_t>(v) < info.palette.size() ? info.palette[static_cast<std::size_t>(v)]
                                                                  : cv::Vec3b(0, 0, 0);
    }
  }
  return out;
}

cv::Mat overlay(const cv::Mat& rgb, const cv::Mat& label, const DatasetInfo& info, double alpha) {
  const cv::Mat colours = colourize(label, info);
  cv::Mat out = rgb.clone();
  for (int y = 0; y < label.rows; ++y) {
    const uchar* in = label.ptr<uchar>(y);
    const auto* c = colours.ptr<cv::Vec3b>(y);
    auto* px = out.ptr<cv::Vec3b>(y);
    for (int x = 0; x < label.cols; ++x) {
      if (in[x] == 0 || in[x] == info.ignore_index) continue;
      for (int k = 0; k < 3; ++k) px[x][k] = cv::saturate_cast<uchar>((1 - alpha) * px[x][k] + alpha * c[x][k]);
    }
  }
  return out;
}

cv::Mat displayable(const cv::Mat& image) {
  if (image.depth() == CV_8U) return image;
  double lo = 0, hi = 0;
  cv::minMaxLoc(image.reshape(1), &lo, &hi);
  cv::Mat out;
  image.convertTo(out, CV_8U, hi > lo ? 255.0 / (hi - lo) : 1.0, hi > lo ? -lo * 255.0 / (hi - lo) : 0.0);
  return out;
}

}  // namespace segdistill
