#include "data/image_header.hpp"

#include <cstdlib>
#include <cstring>

namespace segdistill {

namespace {

std::uint32_t big_endian(const unsigned char* p, int bytes) {
  std::uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | p[i];
  return v;
}

std::optional<DeclaredSize> png_size(const std::vector<unsigned char>& b) {
  static const unsigned char signature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (b.size() < 24 || std::memcmp(b.data(), signature, 8) != 0 || std::memcmp(b.data() + 12, "IHDR", 4) != 0)
    return std::nullopt;
  return DeclaredSize{big_endian(&b[16], 4), big_endian(&b[20], 4)};
}

// Walks the marker segments up to the first start-of-frame (SOF0..SOF15 but DHT, JPG
// and DAC, which share the range).
std::optional<DeclaredSize> jpeg_size(const std::vector<unsigned char>& b) {
  if (b.size() < 4 || b[0] != 0xFF || b[1] != 0xD8) return std::nullopt;
  std::size_t at = 2;
  while (at + 4 <= b.size()) {
    if (b[at] != 0xFF) return std::nullopt;
    const unsigned char marker = b[at + 1];
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {  // no length
      at += 2;
      continue;
    }
    const std::size_t length = big_endian(&b[at + 2], 2);
    if (length < 2) return std::nullopt;
    const bool frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (frame) {
      if (at + 9 > b.size()) return std::nullopt;
      return DeclaredSize{big_endian(&b[at + 7], 2), big_endian(&b[at + 5], 2)};
    }
    if (marker == 0xDA || marker == 0xD9) return std::nullopt;  // scan data before any frame header
    at += 2 + length;
  }
  return std::nullopt;
}

std::optional<DeclaredSize> bmp_size(const std::vector<unsigned char>& b) {
  if (b.size() < 26 || b[0] != 'B' || b[1] != 'M') return std::nullopt;
  std::int32_t width = 0, height = 0;
  std::memcpy(&width, &b[18], 4);  // little-endian, as x86 and ARM store it
  std::memcpy(&height, &b[22], 4);
  return DeclaredSize{std::llabs(width), std::llabs(height)};  // negative height: top-down rows
}

}  // namespace

std::optional<DeclaredSize> declared_image_size(const std::vector<unsigned char>& bytes) {
  if (auto size = png_size(bytes)) return size;
  if (auto size = jpeg_size(bytes)) return size;
  return bmp_size(bytes);
}

}  // namespace segdistill
