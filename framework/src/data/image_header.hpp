#pragma once
// Private to libsegdistill: the width and height an encoded image declares, read from
// its header without decoding, so that sizes are checked before any allocation.
#include <cstdint>
#include <optional>
#include <vector>

namespace segdistill {

struct DeclaredSize {
  std::int64_t width = 0, height = 0;
};

// PNG (IHDR), JPEG (the first start-of-frame marker) and BMP; nullopt for other
// formats or a header too short to say.
std::optional<DeclaredSize> declared_image_size(const std::vector<unsigned char>& bytes);

}  // namespace segdistill
