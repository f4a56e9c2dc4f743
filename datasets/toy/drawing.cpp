#include "drawing.hpp"

#include <cmath>
#include <vector>

#include <opencv2/imgproc.hpp>

namespace segdistill::toy {

cv::Scalar hsv(double hue, double saturation, double value) {
  hue = std::fmod(hue + 360.0, 360.0);
  const double c = value * saturation, x = c * (1 - std::fabs(std::fmod(hue / 60.0, 2.0) - 1)), m = value - c;
  double r = 0, g = 0, b = 0;
  if (hue < 60)
    r = c, g = x;
  else if (hue < 120)
    r = x, g = c;
  else if (hue < 180)
    g = c, b = x;
  else if (hue < 240)
    g = x, b = c;
  else if (hue < 300)
    r = x, b = c;
  else
    r = c, b = x;
  return {255 * (r + m), 255 * (g + m), 255 * (b + m)};
}

cv::Mat shape_mask(Shape shape, cv::Size size, cv::Point centre, int radius, double angle) {
  cv::Mat mask = cv::Mat::zeros(size, CV_8UC1);
  auto polygon = [&](int corners, double start) {
    std::vector<cv::Point> points;
    for (int i = 0; i < corners; ++i) {
      const double a = start + angle + 2 * M_PI * i / corners;
      points.emplace_back(centre.x + static_cast<int>(radius * std::cos(a)), centre.y + static_cast<int>(radius * std::sin(a)));
    }
    cv::fillPoly(mask, std::vector<std::vector<cv::Point>>{points}, 255);
  };
  switch (shape) {
    case kDisc:
      cv::circle(mask, centre, radius, 255, cv::FILLED);
      break;
    case kSquare:
      polygon(4, M_PI / 4);
      break;
    case kTriangle:
      polygon(3, -M_PI / 2);
      break;
    case kRing:
      cv::circle(mask, centre, radius, 255, cv::FILLED);
      cv::circle(mask, centre, radius / 2, 0, cv::FILLED);
      break;
    case kCross: {
      const int arm = std::max(2, radius / 3);
      cv::Mat bar = cv::Mat::zeros(size, CV_8UC1);
      const cv::RotatedRect horizontal(centre, cv::Size2f(2.0f * radius, 2.0f * arm), static_cast<float>(angle * 180 / M_PI));
      const cv::RotatedRect vertical(centre, cv::Size2f(2.0f * arm, 2.0f * radius), static_cast<float>(angle * 180 / M_PI));
      for (const auto& r : {horizontal, vertical}) {
        cv::Point2f corners[4];
        r.points(corners);
        std::vector<cv::Point> points(corners, corners + 4);
        cv::fillConvexPoly(mask, points, 255);
      }
      break;
    }
  }
  return mask;
}

cv::Mat cluttered_background(cv::Size size, Draw& draw) {
  cv::Mat image(size, CV_8UC3);
  const auto grey = [&] { return hsv(draw.uniform(0, 360), draw.uniform(0.0, 0.45), draw.uniform(0.2, 0.9)); };
  const cv::Scalar top = grey(), bottom = grey();
  for (int y = 0; y < size.height; ++y) {
    const double t = static_cast<double>(y) / size.height;
    cv::line(image, {0, y}, {size.width, y}, top * (1 - t) + bottom * t);
  }
  const int clutter = draw.integer(6, 15);
  for (int i = 0; i < clutter; ++i) {
    const cv::Point p(draw.integer(0, size.width), draw.integer(0, size.height));
    // Mostly grey clutter, some of it saturated: colour alone is not enough.
    const cv::Scalar c =
        draw.uniform() < 0.7 ? grey() : hsv(draw.uniform(0, 360), draw.uniform(0.5, 1.0), draw.uniform(0.5, 1.0));
    if (draw.uniform() < 0.5)
      cv::line(image, p, {draw.integer(0, size.width), draw.integer(0, size.height)}, c, draw.integer(1, 3));
    else
      cv::ellipse(image, p, {draw.integer(2, size.width / 8), draw.integer(2, size.height / 8)}, draw.uniform(0, 180), 0, 360, c,
                  cv::FILLED);
  }
  return image;
}

Scene::Scene(cv::Mat background)
    : image_(std::move(background)),
      label_(cv::Mat::zeros(image_.size(), CV_8UC1)),
      border_(cv::Mat::zeros(image_.size(), CV_8UC1)) {}

void Scene::paint(const cv::Mat& mask, const cv::Mat& pixels, std::uint8_t label) {
  pixels.copyTo(image_, mask);
  label_.setTo(label, mask);
  border_.setTo(0, mask);  // what is painted on top hides the outlines beneath it
  if (label == 0) return;
  cv::Mat outline;
  cv::morphologyEx(mask, outline, cv::MORPH_GRADIENT, cv::getStructuringElement(cv::MORPH_RECT, {3, 3}));
  border_ |= outline;
}

void Scene::finish(cv::Mat& image, cv::Mat& label) {
  label_.setTo(255, border_);
  cv::Mat noise(image_.size(), CV_16SC3);
  cv::randn(noise, 0, 6);
  cv::Mat noisy;
  image_.convertTo(noisy, CV_16SC3);
  noisy += noise;
  noisy.convertTo(image, CV_8UC3);
  label = label_;
}

}  // namespace segdistill::toy
