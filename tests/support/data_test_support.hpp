#pragma once
// Data fixtures written by tests/python/write_data_fixtures.py (PIL, scipy) and the
// label formulas they follow.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include <opencv2/core.hpp>

#include "segdistill/config/config.hpp"
#include "segdistill/data/sections.hpp"
#include "segdistill/plugin/loader.hpp"
#include "test_support.hpp"

namespace segdistill_test {

inline void write_fixtures(const std::string& kind, const std::string& dir) {
  const std::string command = "/usr/bin/python3 " + std::string(SEGDISTILL_SOURCE_DIR) + "/tests/python/write_data_fixtures.py " +
                              kind + " '" + dir + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

inline cv::Mat voc_label(int k) {
  cv::Mat label(30, 40, CV_8UC1);
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 40; ++x) label.at<uchar>(y, x) = static_cast<uchar>((x + 3 * y + k) % 21);
  label.rowRange(0, 2).setTo(255);
  label.rowRange(28, 30).setTo(255);
  label.colRange(0, 2).setTo(255);
  label.colRange(38, 40).setTo(255);
  return label;
}

inline cv::Mat sbd_label(int k) {
  cv::Mat label(30, 40, CV_8UC1);
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 40; ++x) label.at<uchar>(y, x) = static_cast<uchar>((2 * x + y + k) % 21);
  return label;
}

inline int coco_s(int x, int y, int k) { return (x + 7 * y + k) % 183; }

inline bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::countNonZero(a != b) == 0;
}

// A split of a config given as text (paths absolute), plugins of the build tree loaded.
inline segdistill::DataSplit split_from(const std::string& toml, const std::string& name = "train") {
  segdistill::PluginLoader::instance().load_directory(SEGDISTILL_BUILD_PLUGIN_DIR_FOR_TESTS);
  return segdistill::build_split(segdistill::Config::parse(toml, "data.toml"), name);
}

}  // namespace segdistill_test
