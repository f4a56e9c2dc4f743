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

std::uint32_t little_endian32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 | static_cast<std::uint32_t>(p[2]) << 16 |
         static_cast<std::uint32_t>(p[3]) << 24;
}

// OS/2 headers (12 bytes) keep 16-bit sizes at other offsets: not accepted.
bool bmp_info_header_known(const std::vector<unsigned char>& b) {
  if (b.size() < 26 || b[0] != 'B' || b[1] != 'M') return false;
  const std::uint32_t header = little_endian32(&b[14]);
  return header == 40 || header == 52 || header == 56 || header == 108 || header == 124;
}

std::optional<DeclaredSize> bmp_size(const std::vector<unsigned char>& b) {
  if (!bmp_info_header_known(b)) return std::nullopt;
  std::int32_t width = 0, height = 0;
  std::memcpy(&width, &b[18], 4);  // little-endian, as x86 and ARM store it
  std::memcpy(&height, &b[22], 4);
  return DeclaredSize{std::llabs(width), std::llabs(height)};  // negative height: top-down rows
}

}  // namespace

std::optional<DeclaredSize> declared_image_size(const std::vector<unsigned char>& bytes) {
  if (auto size = png_size(bytes)) return size;
  return bmp_size(bytes);
}

ImageFormat image_format(const std::vector<unsigned char>& b) {
  static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return ImageFormat::Jpeg;
  if (b.size() >= 8 && std::memcmp(b.data(), png, 8) == 0) return ImageFormat::Png;
  if (bmp_info_header_known(b)) return ImageFormat::Bmp;
  return ImageFormat::Other;
}

std::string describe_unknown_format(const std::vector<unsigned char>& b) {
  const auto starts = [&](const char* magic, std::size_t n) { return b.size() >= n && std::memcmp(b.data(), magic, n) == 0; };
  if (starts("II*\0", 4) || starts("MM\0*", 4)) return "a TIFF image";
  if (b.size() >= 12 && starts("RIFF", 4) && std::memcmp(&b[8], "WEBP", 4) == 0) return "a WebP image";
  if (starts("GIF8", 4)) return "a GIF image";
  if (starts("BM", 2)) return "a BMP with an OS/2 or unknown header";
  if (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7') return "a PNM/PAM image";
  if (starts("\x76\x2f\x31\x01", 4)) return "an OpenEXR image";
  if (starts("\0\0\0\x0cjP  ", 8) || starts("\xff\x4f\xff\x51", 4)) return "a JPEG 2000 image";
  if (b.size() >= 2 && b[0] == 0xFF && b[1] == 0xD8) return "a JPEG whose first marker is not one";
  if (b.empty()) return "an empty file";
  return "no known image format";
}

}  // namespace segdistill
