#pragma once
// What both toy scenes are drawn with: seeded draws, colours, shape masks, a cluttered
// background, and a scene that keeps its label and Pascal VOC's void outlines in step.
#include <cstdint>
#include <random>

#include <opencv2/core.hpp>

namespace segdistill::toy {

// Random draws that are the same on every standard library.
class Draw {
 public:
  explicit Draw(std::uint64_t seed) : rng_(seed) {}
  double uniform(double lo = 0, double hi = 1) { return lo + (hi - lo) * static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
  int integer(int lo, int hi) { return lo + static_cast<int>(uniform() * (hi - lo + 1)); }
  std::uint64_t bits() { return rng_(); }

 private:
  std::mt19937_64 rng_;
};

enum Shape { kDisc = 1, kSquare, kTriangle, kRing, kCross, kShapes = kCross };

// An RGB colour from hue (degrees), saturation and value in [0, 1].
cv::Scalar hsv(double hue, double saturation, double value);

// A filled shape (255 inside) of the given circumradius and rotation.
cv::Mat shape_mask(Shape shape, cv::Size size, cv::Point centre, int radius, double angle);

// A greyish gradient with random strokes and blobs, a few of them saturated.
cv::Mat cluttered_background(cv::Size size, Draw& draw);

// An image and its label drawn object by object, later objects on top.
class Scene {
 public:
  explicit Scene(cv::Mat background);
  // Copies `pixels` under `mask` and labels it `label` (0 = background clutter, which
  // gets no void outline).
  void paint(const cv::Mat& mask, const cv::Mat& pixels, std::uint8_t label);
  // Voids each object's outline (255, as Pascal VOC's labels have), adds sensor noise
  // from cv::theRNG, and hands the image and label over.
  void finish(cv::Mat& image, cv::Mat& label);

 private:
  cv::Mat image_, label_, border_;
};

}  // namespace segdistill::toy
