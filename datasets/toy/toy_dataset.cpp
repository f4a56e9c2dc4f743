#include "toy_dataset.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "segdistill/core/error.hpp"
#include "segdistill/data/dataset.hpp"
#include "segdistill/data/image_io.hpp"

namespace fs = std::filesystem;

namespace segdistill::toy {

namespace {

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

// A cluttered background: a gradient, random strokes and blobs, noise.
cv::Mat background(cv::Size size, Draw& draw) {
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

void scene(cv::Size size, Draw& draw, cv::Mat& image, cv::Mat& label) {
  image = background(size, draw);
  label = cv::Mat::zeros(size, CV_8UC1);
  cv::Mat border = cv::Mat::zeros(size, CV_8UC1);
  const int objects = draw.integer(1, 3);
  for (int i = 0; i < objects; ++i) {
    const auto shape = static_cast<Shape>(draw.integer(1, kShapes));
    const int side = std::min(size.width, size.height);
    const int radius = draw.integer(side / 6, side / 3);
    const cv::Point centre(draw.integer(radius / 2, size.width - radius / 2), draw.integer(radius / 2, size.height - radius / 2));
    const cv::Mat mask = shape_mask(shape, size, centre, radius, draw.uniform(0, M_PI));
    texture(shape, size, draw).copyTo(image, mask);
    label.setTo(shape, mask);
    // A void band on the object's outline, as Pascal VOC's labels have.
    cv::Mat outline;
    cv::morphologyEx(mask, outline, cv::MORPH_GRADIENT, cv::getStructuringElement(cv::MORPH_RECT, {3, 3}));
    border.setTo(0, mask);  // an object on top hides the outlines beneath it
    border |= outline;
  }
  label.setTo(255, border);
  // Sensor noise over everything.
  cv::Mat noise(size, CV_16SC3);
  cv::randn(noise, 0, 6);  // seeded below through cv::theRNG
  cv::Mat noisy;
  image.convertTo(noisy, CV_16SC3);
  noisy += noise;
  noisy.convertTo(image, CV_8UC3);
}

void write_list(const fs::path& path, const std::vector<std::string>& ids) {
  std::ofstream out(path);
  for (const auto& id : ids) out << id << "\n";
  if (!out) throw Error(path.string() + ": cannot write the split list");
}

}  // namespace

const std::vector<std::string>& toy_class_names() {
  static const std::vector<std::string> names{"background", "disc", "square", "triangle", "ring", "cross"};
  return names;
}

void write_toy_dataset(const ToyOptions& options, const std::function<void(int, int)>& progress) {
  if (options.train < 1 || options.val < 1) throw Error("make-toy-dataset: --train and --val must be at least 1");
  if (std::min(options.width, options.height) < 32 || std::max(options.width, options.height) > 4096)
    throw Error("make-toy-dataset: --size must be between 32 and 4096 pixels per side");
  const fs::path root(options.output);
  for (const char* dir : {"JPEGImages", "SegmentationClass", "ImageSets/Segmentation"}) {
    std::error_code ec;
    fs::create_directories(root / dir, ec);
    if (ec) throw Error((root / dir).string() + ": cannot create the folder: " + ec.message());
  }
  const cv::Size size(options.width, options.height);
  const auto palette = voc_palette();
  std::vector<std::string> train, val;
  const int total = options.train + options.val;
  for (int i = 0; i < total; ++i) {
    char id[32];
    std::snprintf(id, sizeof(id), "toy_%06d", i);
    // Each image from its own seed: the same image whatever the counts asked for.
    Draw draw(options.seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(i) + 1);
    cv::theRNG().state = draw.bits() | 1;
    cv::Mat image, label;
    scene(size, draw, image, label);
    write_rgb_image((root / "JPEGImages" / (std::string(id) + ".jpg")).string(), image);
    write_label_png((root / "SegmentationClass" / (std::string(id) + ".png")).string(), label, palette);
    (i < options.train ? train : val).push_back(id);
    if (progress) progress(i + 1, total);
  }
  write_list(root / "ImageSets/Segmentation/train.txt", train);
  write_list(root / "ImageSets/Segmentation/val.txt", val);
  std::vector<std::string> all = train;
  all.insert(all.end(), val.begin(), val.end());
  write_list(root / "ImageSets/Segmentation/trainval.txt", all);
  write_list(root / "classes.txt", toy_class_names());
}

}  // namespace segdistill::toy
