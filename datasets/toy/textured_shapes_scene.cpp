#include <cmath>

#include <opencv2/imgproc.hpp>

#include "scenes.hpp"

namespace segdistill::toy {

namespace {

enum Pattern { kStriped, kChecked, kPatterns };

// A light and a dark colour of the shape's hue family (jittered, so that neighbouring
// families overlap) in a pattern of random period and angle over the whole canvas: the
// colour suggests the shape, the pattern alone tells its two classes apart.
cv::Mat patterned(Shape shape, Pattern pattern, cv::Size size, Draw& draw) {
  static const double hues[] = {0, 0, 120, 220, 55, 300};  // by shape
  const double hue = hues[shape] + draw.uniform(-35, 35);
  const cv::Scalar light = hsv(hue, draw.uniform(0.45, 1.0), draw.uniform(0.6, 1.0));
  const cv::Scalar dark = hsv(hue, draw.uniform(0.45, 1.0), draw.uniform(0.15, 0.45));
  const double period = draw.uniform(4, 7), angle = draw.uniform(0, M_PI);
  const double c = std::cos(angle) / period, s = std::sin(angle) / period;
  const cv::Vec3b a(cv::saturate_cast<uchar>(light[0]), cv::saturate_cast<uchar>(light[1]), cv::saturate_cast<uchar>(light[2]));
  const cv::Vec3b b(cv::saturate_cast<uchar>(dark[0]), cv::saturate_cast<uchar>(dark[1]), cv::saturate_cast<uchar>(dark[2]));
  cv::Mat out(size, CV_8UC3);
  for (int y = 0; y < size.height; ++y)
    for (int x = 0; x < size.width; ++x) {
      const auto u = static_cast<long>(std::floor(x * c + y * s)), v = static_cast<long>(std::floor(y * c - x * s));
      const bool first = pattern == kStriped ? u % 2 == 0 : (u + v) % 2 == 0;
      out.at<cv::Vec3b>(y, x) = first ? a : b;
    }
  return out;
}

// A thick random polyline: clutter that is no shape of the classes.
cv::Mat stroke_mask(cv::Size size, Draw& draw) {
  const int side = std::min(size.width, size.height);
  std::vector<cv::Point> points{{draw.integer(0, size.width - 1), draw.integer(0, size.height - 1)}};
  for (int i = draw.integer(2, 3); i > 0; --i)
    points.emplace_back(points.back().x + draw.integer(-side / 3, side / 3), points.back().y + draw.integer(-side / 3, side / 3));
  cv::Mat mask = cv::Mat::zeros(size, CV_8UC1);
  cv::polylines(mask, std::vector<std::vector<cv::Point>>{points}, false, 255, draw.integer(side / 16, side / 9));
  return mask;
}

}  // namespace

const std::vector<std::string>& textured_shapes_class_names() {
  static const std::vector<std::string> names{"background",     "disc_striped",     "disc_checked",     "square_striped",
                                              "square_checked", "triangle_striped", "triangle_checked", "ring_striped",
                                              "ring_checked",   "cross_striped",    "cross_checked"};
  return names;
}

void draw_textured_shapes_scene(cv::Size size, Draw& draw, cv::Mat& image, cv::Mat& label) {
  Scene scene(cluttered_background(size, draw));
  for (int i = draw.integer(2, 4); i > 0; --i) {
    const cv::Mat mask = stroke_mask(size, draw);
    const cv::Mat plain(size, CV_8UC3, hsv(draw.uniform(0, 360), draw.uniform(0.3, 1.0), draw.uniform(0.2, 1.0)));
    scene.paint(mask, plain, 0);
  }
  const int side = std::min(size.width, size.height);
  for (int i = draw.integer(2, 4); i > 0; --i) {
    const auto shape = static_cast<Shape>(draw.integer(1, kShapes));
    const auto pattern = static_cast<Pattern>(draw.integer(0, kPatterns - 1));
    const int radius = draw.integer(side / 8, side / 4);
    const cv::Point centre(draw.integer(radius / 2, size.width - radius / 2), draw.integer(radius / 2, size.height - radius / 2));
    const cv::Mat mask = shape_mask(shape, size, centre, radius, draw.uniform(0, M_PI));
    scene.paint(mask, patterned(shape, pattern, size, draw), static_cast<std::uint8_t>(1 + (shape - 1) * kPatterns + pattern));
  }
  scene.finish(image, label);
}

}  // namespace segdistill::toy
