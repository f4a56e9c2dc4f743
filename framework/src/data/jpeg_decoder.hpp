#pragma once
// Private to libsegdistill: JPEG decoding with libjpeg itself rather than through
// OpenCV, so that what decides the work is what the decoder reads:
//  - the width and height come from libjpeg's own header pass (a hand parser can be
//    walked around: a stray byte before the frame header hid 30000 x 30000 from it);
//  - a progressive file may hold at most kMaxJpegScans scans (20,000 empty scans made
//    a 552 KB file decode for over a minute);
//  - libjpeg's corrupt-data warnings (a truncated file, stray bytes, bad Huffman codes)
//    are errors: OpenCV prints them and returns a half-grey image.
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace segdistill {

// Real progressive JPEGs hold about 10 scans (libjpeg's default script has 10 for colour
// images, optimisers rarely exceed 30).
inline constexpr int kMaxJpegScans = 100;

// The image as 8-bit RGB; SampleError naming `path` for a corrupt file, more than
// `max_pixels` pixels, or more than kMaxJpegScans scans.
cv::Mat decode_jpeg_rgb(const std::vector<unsigned char>& bytes, const std::string& path, std::int64_t max_pixels);

}  // namespace segdistill
