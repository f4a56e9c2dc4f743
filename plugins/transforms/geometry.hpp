#pragma once
// Resizing and padding image/label pairs the same way.
#include <opencv2/core.hpp>

#include "segdistill/data/sample.hpp"

namespace segdistill::transforms_plugin {

// Image bilinear, label nearest (classes must not blend).
void resize_sample(Sample& sample, cv::Size size);

// Pads at the bottom and right to at least `size`: image with `image_fill`, label with
// `label_fill` (the ignore index).
void pad_sample(Sample& sample, cv::Size size, double image_fill, int label_fill);

}  // namespace segdistill::transforms_plugin
