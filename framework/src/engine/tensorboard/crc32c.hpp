#pragma once
// CRC-32C (Castagnoli), as the TFRecord framing of TensorBoard event files requires.
#include <cstddef>
#include <cstdint>

namespace segdistill::tensorboard {

std::uint32_t crc32c(const void* data, std::size_t size);

// The "masked" CRC stored in records: rotated and offset so that a CRC of data that
// itself holds CRCs is not trivially related to them.
std::uint32_t masked_crc32c(const void* data, std::size_t size);

}  // namespace segdistill::tensorboard
