#include <opencv2/imgproc.hpp>

#include "scenes.hpp"

namespace segdistill::toy {

namespace {

// Each class has a hue family (jittered), saturated colours and its own kind of texture;
// the background and its clutter are greyish. A narrow network picks up colour quickly;
// telling neighbouring hues apart, and objects from saturated clutter, takes shape and
// texture, which a wide network learns better.
cv::Scalar class_colour(Shape shape, Draw& draw, double value_scale = 1.0) {
  static const double hues[] = {0, 0, 120, 220, 55, 300};  // by class index
  return hsv(hues[shape] + draw.uniform(-35, 35), draw.uniform(0.55, 1.0), draw.uniform(0.55, 1.0) * value_scale);
}

// A texture over the whole canvas; shapes copy it under their mask.
cv::Mat texture(Shape shape, cv::Size size, Draw& draw) {
  const cv::Scalar a = class_colour(shape, draw), b = class_colour(shape, draw, 0.6);
  cv::Mat out(size, CV_8UC3, a);
  const int period = draw.integer(4, 8);
  switch (shape) {
    case kDisc:  // speckles
      for (int i = 0; i < size.area() / 12; ++i)
        cv::circle(out, {draw.integer(0, size.width - 1), draw.integer(0, size.height - 1)}, 1, b, cv::FILLED);
      break;
    case kSquare:  // horizontal stripes
      for (int y = 0; y < size.height; y += period) cv::rectangle(out, {0, y}, {size.width, y + period / 2}, b, cv::FILLED);
      break;
    case kTriangle:  // checkerboard
      for (int y = 0; y < size.height; y += period)
        for (int x = (y / period) % 2 * period; x < size.width; x += 2 * period)
          cv::rectangle(out, {x, y}, {x + period - 1, y + period - 1}, b, cv::FILLED);
      break;
    case kRing: {  // smooth gradient
      for (int y = 0; y < size.height; ++y) {
        const double t = static_cast<double>(y) / size.height;
        cv::line(out, {0, y}, {size.width, y}, a * (1 - t) + b * t);
      }
      break;
    }
    case kCross:  // diagonal stripes
      for (int k = -size.height; k < size.width; k += period) cv::line(out, {k, 0}, {k + size.height, size.height}, b, 2);
      break;
  }
  return out;
}

}  // namespace

const std::vector<std::string>& shapes_class_names() {
  static const std::vector<std::string> names{"background", "disc", "square", "triangle", "ring", "cross"};
  return names;
}

void draw_shapes_scene(cv::Size size, Draw& draw, cv::Mat& image, cv::Mat& label) {
  Scene scene(cluttered_background(size, draw));
  const int objects = draw.integer(1, 3);
  for (int i = 0; i < objects; ++i) {
    const auto shape = static_cast<Shape>(draw.integer(1, kShapes));
    const int side = std::min(size.width, size.height);
    const int radius = draw.integer(side / 6, side / 3);
    const cv::Point centre(draw.integer(radius / 2, size.width - radius / 2), draw.integer(radius / 2, size.height - radius / 2));
    const cv::Mat mask = shape_mask(shape, size, centre, radius, draw.uniform(0, M_PI));
    scene.paint(mask, texture(shape, size, draw), static_cast<std::uint8_t>(shape));
  }
  scene.finish(image, label);
}

}  // namespace segdistill::toy
