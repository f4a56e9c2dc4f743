#pragma once
// Private to libsegdistill: the width and height an encoded image declares, read from
// its header without decoding, so that sizes are checked before any allocation.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace segdistill {

struct DeclaredSize {
  std::int64_t width = 0, height = 0;
};

// PNG (IHDR) and BMP with a Windows info header of 40 bytes or more: fixed fields that
// libpng and OpenCV's BMP decoder read the same way; nullopt for other formats or a
// header too short to say. JPEGs are sized by libjpeg's own header pass instead
// (jpeg_decoder.hpp): a hand parser of their markers can be walked around.
std::optional<DeclaredSize> declared_image_size(const std::vector<unsigned char>& bytes);

// The formats segdistill decodes, told by their first bytes, never by the extension.
enum class ImageFormat { Jpeg, Png, Bmp, Other };
ImageFormat image_format(const std::vector<unsigned char>& bytes);
// For an error about an Other file: what its first bytes look like ("a TIFF image", ...).
std::string describe_unknown_format(const std::vector<unsigned char>& bytes);

}  // namespace segdistill
