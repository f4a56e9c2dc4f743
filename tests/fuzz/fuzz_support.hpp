#pragma once
// What the harnesses share: the bytes of one input, and the rule that a reader may end
// in segdistill::Error (a clear message) and nothing else. Any other exception, a
// crash, a leak or undefined behaviour is a finding.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace segdistill_fuzz {

inline std::vector<char> chars(const std::uint8_t* data, std::size_t size) {
  return std::vector<char>(reinterpret_cast<const char*>(data), reinterpret_cast<const char*>(data) + size);
}

}  // namespace segdistill_fuzz
