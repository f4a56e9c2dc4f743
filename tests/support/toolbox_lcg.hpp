#pragma once
// The input generator of the CIRKD toolbox's reference values (its facts, section 1.16):
// state_0 = seed, state <- (1664525 state + 1013904223) mod 2^32 per element, filled
// row-major, value = scale (2 state / 2^32 - 1) rounded to float32 (stored in float64).
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace segdistill_test {

inline at::Tensor toolbox_lcg(const std::vector<std::int64_t>& shape, std::uint32_t seed, double scale = 1.0) {
  at::Tensor out = torch::empty(shape, torch::kDouble);
  double* data = out.data_ptr<double>();
  std::uint32_t state = seed;
  for (std::int64_t i = 0; i < out.numel(); ++i) {
    state = 1664525u * state + 1013904223u;
    data[i] = static_cast<float>(scale * (2.0 * state / 4294967296.0 - 1.0));
  }
  return out;
}

}  // namespace segdistill_test
