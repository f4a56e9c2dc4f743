#pragma once
// The data-pipeline transforms: options and classes.
#include <optional>
#include <vector>

#include "segdistill/config/schema.hpp"
#include "segdistill/data/transform.hpp"

namespace segdistill::transforms_plugin {

// The longest side a transform may produce: 16384 x 16384 RGB is 800 MB already, and a
// typo such as 100000 must fail in `config check`, not as a failed allocation mid-run.
inline constexpr double kMaxSide = 16384;

struct RandomScaleCropOptions {
  std::int64_t base_size;
  std::vector<double> scale_range;
  std::vector<std::int64_t> crop_size;
  std::optional<std::int64_t> label_fill;
  static void declare(Schema<RandomScaleCropOptions>& s) {
    s.field("base_size", &RandomScaleCropOptions::base_size, "short side before scaling").default_value(513).range(1, kMaxSide);
    s.field("scale_range", &RandomScaleCropOptions::scale_range, "[min, max] factor of base_size for the short side")
        .default_value(std::vector<double>{0.5, 2.0})
        .range(0.01, 100);
    s.field("crop_size", &RandomScaleCropOptions::crop_size, "[height, width] of the crop (one value: square)")
        .default_value(std::vector<std::int64_t>{513})
        .range(1, kMaxSide);
    s.field("label_fill", &RandomScaleCropOptions::label_fill,
            "label of the padding (default: data.ignore_index; the published VOC pipeline pads with 0, background)")
        .range(0, 255);
  }
};

// Scales the short side to a random size in scale_range x base_size (aspect kept), pads
// to the crop size (image 0, label label_fill or the ignore index) and crops at a random place: the published
// training augmentation.
class RandomScaleCrop : public Transform {
 public:
  RandomScaleCrop(const RandomScaleCropOptions& options, const TransformContext& context);
  void apply(Sample& sample, std::mt19937_64& rng) const override;

 private:
  RandomScaleCropOptions options_;
  cv::Size crop_;
  int label_fill_;
};

struct RandomFactorScaleCropOptions {
  std::vector<double> factors;
  std::vector<std::int64_t> crop_size;
  static void declare(Schema<RandomFactorScaleCropOptions>& s) {
    s.field("factors", &RandomFactorScaleCropOptions::factors,
            "scale factors of the image's own size, one drawn uniformly per sample (the CIRKD toolbox: 0.5, 0.6, ..., 2.0)")
        .default_value(std::vector<double>{0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0})
        .range(0.01, 100);
    s.field("crop_size", &RandomFactorScaleCropOptions::crop_size, "[height, width] of the crop (one value: square)")
        .default_value(std::vector<std::int64_t>{512, 1024})
        .range(1, kMaxSide);
  }
};

// The CIRKD toolbox's training augmentation: both sides scaled by a factor drawn from a
// list (rounded to the nearest pixel), padded at the bottom and right to the crop (image
// 0, label the ignore index), cropped at a random place. After `normalize`, the image
// padding of 0 is the mean colour, as the toolbox pads after its mean subtraction.
class RandomFactorScaleCrop : public Transform {
 public:
  RandomFactorScaleCrop(const RandomFactorScaleCropOptions& options, const TransformContext& context);
  void apply(Sample& sample, std::mt19937_64& rng) const override;

 private:
  std::vector<double> factors_;
  cv::Size crop_;
  int ignore_;
};

struct RandomFlipOptions {
  double probability;
  static void declare(Schema<RandomFlipOptions>& s) {
    s.field("probability", &RandomFlipOptions::probability, "chance of a horizontal flip").default_value(0.5).range(0, 1);
  }
};

class RandomFlip : public Transform {
 public:
  explicit RandomFlip(const RandomFlipOptions& options) : options_(options) {}
  void apply(Sample& sample, std::mt19937_64& rng) const override;

 private:
  RandomFlipOptions options_;
};

struct GaussianBlurOptions {
  double probability;
  double max_sigma;
  static void declare(Schema<GaussianBlurOptions>& s) {
    s.field("probability", &GaussianBlurOptions::probability, "chance of blurring").default_value(0.5).range(0, 1);
    s.field("max_sigma", &GaussianBlurOptions::max_sigma, "sigma drawn uniformly in [0, max_sigma)")
        .default_value(1.0)
        .range(0, 100);
  }
};

// Blurs the image (never the label) with a random sigma, as the published pipeline's
// PIL GaussianBlur(radius = random()).
class GaussianBlur : public Transform {
 public:
  explicit GaussianBlur(const GaussianBlurOptions& options) : options_(options) {}
  void apply(Sample& sample, std::mt19937_64& rng) const override;

 private:
  GaussianBlurOptions options_;
};

struct NormalizeOptions {
  std::vector<double> mean;
  std::vector<double> std;
  double scale;
  bool bgr;
  static void declare(Schema<NormalizeOptions>& s) {
    s.field("mean", &NormalizeOptions::mean, "per-channel mean (RGB), after dividing by scale")
        .default_value(std::vector<double>{0.485, 0.456, 0.406});
    s.field("std", &NormalizeOptions::std, "per-channel standard deviation (RGB)")
        .default_value(std::vector<double>{0.229, 0.224, 0.225})
        .range(1e-6, 1e6);
    s.field("scale", &NormalizeOptions::scale, "pixel values are divided by this first").default_value(255.0).range(1e-6, 1e6);
    s.field("bgr", &NormalizeOptions::bgr,
            "then put the channels in B, G, R order: the input of networks trained on OpenCV's BGR images (the CIRKD "
            "toolbox's; mean and std stay per R, G, B)")
        .default_value(false);
  }
};

// (pixel / scale - mean) / std, as float.
class Normalize : public Transform {
 public:
  explicit Normalize(const NormalizeOptions& options);
  void apply(Sample& sample, std::mt19937_64& rng) const override;

 private:
  cv::Scalar alpha_, beta_;
  bool bgr_;
};

struct ResizeOptions {
  std::vector<std::int64_t> size;
  static void declare(Schema<ResizeOptions>& s) {
    s.field("size", &ResizeOptions::size, "[height, width] (one value: square)").required().range(1, kMaxSide);
  }
};

class Resize : public Transform {
 public:
  explicit Resize(const ResizeOptions& options);
  void apply(Sample& sample, std::mt19937_64& rng) const override;

 private:
  cv::Size size_;
};

struct PadToOptions {
  std::vector<std::int64_t> size;
  std::int64_t multiple_of;
  double image_fill;
  static void declare(Schema<PadToOptions>& s) {
    s.field("size", &PadToOptions::size, "[height, width] to pad to at least (one value: square; [] for none)")
        .default_value(std::vector<std::int64_t>{})
        .range(1, kMaxSide);
    s.field("multiple_of", &PadToOptions::multiple_of, "then pad height and width up to a multiple of this")
        .default_value(1)
        .range(1, 1024);
    s.field("image_fill", &PadToOptions::image_fill, "value of padded image pixels").default_value(0.0);
  }
};

// Pads at the bottom and right (image with image_fill, label with the ignore index).
class PadTo : public Transform {
 public:
  PadTo(const PadToOptions& options, const TransformContext& context);
  void apply(Sample& sample, std::mt19937_64& rng) const override;

 private:
  PadToOptions options_;
  int ignore_;
};

// [h, w] or [s] as a size; Error naming `key` otherwise.
cv::Size size_option(const std::vector<std::int64_t>& values, const std::string& key);

}  // namespace segdistill::transforms_plugin
