#pragma once
// Private to libsegdistill: label PNGs through libpng, keeping palette indices.
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace segdistill {

// Decodes an 8-bit palette or grey PNG (palettes of 1, 2 or 4 bits are unpacked) into
// CV_8UC1 indices. Returns false and sets `error` when the data is not such a PNG.
bool decode_index_png(const std::vector<unsigned char>& bytes, cv::Mat& indices, std::string& error);

// Encodes CV_8UC1 indices as an 8-bit palette PNG with `palette` (RGB, up to 256).
std::vector<char> encode_palette_png(const cv::Mat& indices, const std::vector<cv::Vec3b>& palette);

}  // namespace segdistill
