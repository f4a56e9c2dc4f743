#pragma once
#include <string>

#include <opencv2/core.hpp>

namespace segdistill {

// One image and its label as they travel through a data pipeline.
struct Sample {
  std::string id;          // the data set's sample id (file stem)
  cv::Mat image;           // H x W x 3, RGB; CV_8UC3 when read, CV_32FC3 after normalize
  cv::Mat label;           // H x W, CV_8UC1 class indices (ignore index for void); empty for unlabelled images
  cv::Size original_size;  // the image's size as read, before any transform
  cv::Mat original_label;  // the label as read, kept only when the loader is asked to (evaluation)
  std::string image_path;  // for messages
  std::string label_path;
};

}  // namespace segdistill
