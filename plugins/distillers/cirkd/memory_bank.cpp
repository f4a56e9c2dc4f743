#include "memory_bank.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include "segdistill/core/error.hpp"
#include "toolbox_math.hpp"

namespace segdistill::cirkd {

at::Tensor random_unit_memory(const std::vector<std::int64_t>& shape, const std::string& owner, const std::string& options) {
  double bytes = 4;
  std::string text;
  for (const std::int64_t n : shape) {
    bytes *= static_cast<double>(n);
    text += (text.empty() ? "" : " x ") + std::to_string(n);
  }
  try {
    return unit(torch::randn(shape), static_cast<std::int64_t>(shape.size()) - 1);
  } catch (const std::exception&) {
    throw Error(owner + ": its memory of " + text + " floats (" + std::to_string(bytes / (1 << 30)).substr(0, 6) +
                " GiB) cannot be allocated; lower " + options);
  }
}

std::int64_t write_at_pointer(at::Tensor bank, const at::Tensor& vectors, std::int64_t ptr) {
  const std::int64_t rows = bank.size(0), n = vectors.size(0);
  if (ptr + n >= rows) {
    bank.narrow(0, rows - n, n).copy_(vectors);
    return 0;
  }
  bank.narrow(0, ptr, n).copy_(vectors);
  return (ptr + n) % rows;
}

at::Generator memory_generator(std::uint64_t seed, std::uint64_t draw, std::uint64_t stream) {
  // SplitMix64's finaliser over the three numbers: nearby draws give unrelated seeds.
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ULL + (draw + 1) * 0xbf58476d1ce4e5b9ULL + (stream + 1) * 0x94d049bb133111ebULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return at::detail::createCPUGenerator(x ^ (x >> 31));
}

}  // namespace segdistill::cirkd
