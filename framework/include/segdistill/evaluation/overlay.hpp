#pragma once
// Pictures of labels and predictions for people.
#include <opencv2/core.hpp>

#include "segdistill/core/api.hpp"
#include "segdistill/data/dataset.hpp"

namespace segdistill {

// Class indices as RGB colours of the data set's palette (ignore: white).
SEGDISTILL_API cv::Mat colourize(const cv::Mat& label, const DatasetInfo& info);

// The colours blended over an RGB uint8 image (alpha 0.5; background class and ignore
// pixels left as they are).
SEGDISTILL_API cv::Mat overlay(const cv::Mat& rgb, const cv::Mat& label, const DatasetInfo& info, double alpha = 0.5);

// A transformed (possibly normalised, float) image as RGB uint8: min-max scaled per image.
SEGDISTILL_API cv::Mat displayable(const cv::Mat& image);

}  // namespace segdistill
