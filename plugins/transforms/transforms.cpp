#include "transforms.hpp"

#include <cmath>

#include <opencv2/imgproc.hpp>

#include "geometry.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/random.hpp"

namespace segdistill::transforms_plugin {

cv::Size size_option(const std::vector<std::int64_t>& values, const std::string& key) {
  if (values.size() == 1) return {static_cast<int>(values[0]), static_cast<int>(values[0])};
  if (values.size() == 2) return {static_cast<int>(values[1]), static_cast<int>(values[0])};
  throw Error(key + ": expected [height, width] or [size], got " + std::to_string(values.size()) + " values");
}

RandomScaleCrop::RandomScaleCrop(const RandomScaleCropOptions& options, const TransformContext& context)
    : options_(options),
      crop_(size_option(options.crop_size, "random_scale_crop.crop_size")),
      label_fill_(static_cast<int>(options.label_fill ? *options.label_fill : context.ignore_index)) {
  if (options.scale_range.size() != 2 || options.scale_range[0] > options.scale_range[1])
    throw Error("random_scale_crop.scale_range: expected [min, max] with min <= max");
}

void RandomScaleCrop::apply(Sample& sample, std::mt19937_64& rng) const {
  const int lo = static_cast<int>(static_cast<double>(options_.base_size) * options_.scale_range[0]);
  const int hi = static_cast<int>(static_cast<double>(options_.base_size) * options_.scale_range[1]);
  const int short_side = std::max(1, uniform_int(rng, lo, hi));
  const int h = sample.image.rows, w = sample.image.cols;
  const cv::Size scaled = w > h ? cv::Size(static_cast<int>(1.0 * w * short_side / h), short_side)
                                : cv::Size(short_side, static_cast<int>(1.0 * h * short_side / w));
  resize_sample(sample, scaled);
  pad_sample(sample, crop_, 0.0, label_fill_);
  const int x = uniform_int(rng, 0, sample.image.cols - crop_.width);
  const int y = uniform_int(rng, 0, sample.image.rows - crop_.height);
  const cv::Rect window(x, y, crop_.width, crop_.height);
  sample.image = sample.image(window).clone();
  if (!sample.label.empty()) sample.label = sample.label(window).clone();
}

RandomFactorScaleCrop::RandomFactorScaleCrop(const RandomFactorScaleCropOptions& options, const TransformContext& context)
    : factors_(options.factors),
      crop_(size_option(options.crop_size, "random_factor_scale_crop.crop_size")),
      ignore_(static_cast<int>(context.ignore_index)) {
  if (factors_.empty()) throw Error("random_factor_scale_crop.factors: expected at least one factor");
}

void RandomFactorScaleCrop::apply(Sample& sample, std::mt19937_64& rng) const {
  const double factor = factors_[static_cast<std::size_t>(uniform_int(rng, 0, static_cast<int>(factors_.size()) - 1))];
  // Rounded half to even, as OpenCV rounds the size of cv::resize(fx, fy).
  const auto scaled = [&](int side) { return std::max(1, static_cast<int>(std::nearbyint(side * factor))); };
  resize_sample(sample, cv::Size(scaled(sample.image.cols), scaled(sample.image.rows)));
  pad_sample(sample, crop_, 0.0, ignore_);
  const int y = uniform_int(rng, 0, sample.image.rows - crop_.height);
  const int x = uniform_int(rng, 0, sample.image.cols - crop_.width);
  const cv::Rect window(x, y, crop_.width, crop_.height);
  sample.image = sample.image(window).clone();
  if (!sample.label.empty()) sample.label = sample.label(window).clone();
}

void RandomFlip::apply(Sample& sample, std::mt19937_64& rng) const {
  if (!bernoulli(rng, options_.probability)) return;
  cv::flip(sample.image, sample.image, 1);
  if (!sample.label.empty()) cv::flip(sample.label, sample.label, 1);
}

void GaussianBlur::apply(Sample& sample, std::mt19937_64& rng) const {
  if (!bernoulli(rng, options_.probability)) return;
  const double sigma = uniform01(rng) * options_.max_sigma;
  if (sigma <= 0) return;
  cv::GaussianBlur(sample.image, sample.image, cv::Size(0, 0), sigma, sigma, cv::BORDER_REFLECT);
}

Normalize::Normalize(const NormalizeOptions& options) : bgr_(options.bgr) {
  if (options.mean.size() != 3 || options.std.size() != 3) throw Error("normalize: mean and std need 3 values (R, G, B)");
  // out = pixel * alpha + beta, per channel.
  for (int c = 0; c < 3; ++c) {
    alpha_[c] = 1.0 / (options.scale * options.std[static_cast<std::size_t>(c)]);
    beta_[c] = -options.mean[static_cast<std::size_t>(c)] / options.std[static_cast<std::size_t>(c)];
  }
}

void Normalize::apply(Sample& sample, std::mt19937_64&) const {
  cv::Mat input = sample.image;
  if (input.depth() != CV_32F) input.convertTo(input, CV_32F);
  cv::Mat out;
  cv::multiply(input, alpha_, out);
  cv::add(out, beta_, sample.image);
  if (bgr_) cv::cvtColor(sample.image, sample.image, cv::COLOR_RGB2BGR);
}

Resize::Resize(const ResizeOptions& options) : size_(size_option(options.size, "resize.size")) {}

void Resize::apply(Sample& sample, std::mt19937_64&) const { resize_sample(sample, size_); }

PadTo::PadTo(const PadToOptions& options, const TransformContext& context)
    : options_(options), ignore_(static_cast<int>(context.ignore_index)) {
  if (!options.size.empty()) size_option(options.size, "pad_to.size");
}

void PadTo::apply(Sample& sample, std::mt19937_64&) const {
  cv::Size target = options_.size.empty() ? sample.image.size() : size_option(options_.size, "pad_to.size");
  target.width = std::max(target.width, sample.image.cols);
  target.height = std::max(target.height, sample.image.rows);
  const int m = static_cast<int>(options_.multiple_of);
  target.width = (target.width + m - 1) / m * m;
  target.height = (target.height + m - 1) / m * m;
  pad_sample(sample, target, options_.image_fill, ignore_);
}

}  // namespace segdistill::transforms_plugin
