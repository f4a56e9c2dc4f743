#pragma once
// Split list files (one sample id per line) and checks shared by the data sets.
#include <functional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "segdistill/data/dataset.hpp"
#include "segdistill/data/split_list.hpp"

namespace segdistill::datasets_plugin {

// `path` if absolute, else relative to `base`.
std::string resolve_path(const std::string& base, const std::string& path);

// Error naming `key` when `dir` is not an existing folder; `what` says what it should be.
void require_directory(const std::string& dir, const std::string& key, const std::string& what);

// The names of the regular files (not links) in `dir` that end with `suffix`, sorted: a
// data set's samples in an order that does not depend on the file system.
std::vector<std::string> files_ending_with(const std::string& dir, const std::string& suffix);

// SampleError unless every label value is a class (< num_classes) or the ignore index.
void check_label_values(const cv::Mat& label, const std::string& label_path, std::int64_t num_classes, std::int64_t ignore_index);

// A sample: the image read from `image_path` (first, so a missing image is the error
// reported), the label from `read_label`; SampleError unless both have the same size.
Sample read_sample(std::string id, std::string image_path, std::string label_path, const std::function<cv::Mat()>& read_label);

// Pascal VOC's class names.
const std::vector<std::string>& voc_class_names();

}  // namespace segdistill::datasets_plugin
