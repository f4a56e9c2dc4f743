#pragma once
// Reading and writing the image and label files of segmentation data sets.
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "segdistill/core/api.hpp"

namespace segdistill {

// Files whose header declares more pixels than the limit are refused before decoding,
// so that a few kilobytes cannot ask for gigabytes (decompression bombs). The default
// takes 8K images (7680 x 4320 = 33 MP) with room; `data.max_image_pixels` sets it.
inline constexpr std::int64_t kDefaultMaxImagePixels = 50'000'000;
SEGDISTILL_API void set_max_image_pixels(std::int64_t pixels);
SEGDISTILL_API std::int64_t max_image_pixels();

// An image as RGB uint8 (JPEG, PNG, ... via OpenCV). SampleError naming the file when it
// is missing, unreadable, truncated or larger than max_image_pixels().
SEGDISTILL_API cv::Mat read_rgb_image(const std::string& path);
// The same from the file's bytes; `path` names it in errors.
SEGDISTILL_API cv::Mat decode_rgb_image(const std::vector<unsigned char>& bytes, const std::string& path);

// A label PNG as class indices: palette ("P") PNGs keep their stored indices (decoding
// to colours would lose the classes), 8-bit grey PNGs are indices as they are.
// SampleError for other kinds of PNG, missing or corrupt files.
SEGDISTILL_API cv::Mat read_label_png(const std::string& path);
SEGDISTILL_API cv::Mat decode_label_png(const std::vector<unsigned char>& bytes, const std::string& path);

// Writes indices as a palette PNG (indices preserved, colours from `palette`),
// atomically. Error naming the file on failure.
SEGDISTILL_API void write_label_png(const std::string& path, const cv::Mat& label, const std::vector<cv::Vec3b>& palette);

// Writes an RGB image (PNG or JPEG by extension) atomically.
SEGDISTILL_API void write_rgb_image(const std::string& path, const cv::Mat& rgb);

// One numeric matrix from a MATLAB .mat file (v5, compressed or not, and v7.3/HDF5):
// `variable` or `variable.field` of a struct (SBD's GTcls.Segmentation). Returned as
// CV_16UC1 (values must be integers in 0..65535). SampleError naming file and variable.
SEGDISTILL_API cv::Mat read_mat_matrix(const std::string& path, const std::string& variable);

}  // namespace segdistill
