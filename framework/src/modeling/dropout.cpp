#include "segdistill/modeling/dropout.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>

#include <torch/torch.h>

#include "segdistill/core/error.hpp"

namespace segdistill {

namespace {

// The mask: the element of logical (N, C, H, W row-major) index i is kept when
// hash(i) >= p * 2^32, hash being two rounds of a 32-bit integer finaliser
// (xor-shift-multiply, full avalanche) keyed by the call's seed. Logical indices make the
// mask the same in either memory format, as LibTorch's is. 32-bit lanes vectorise: a bf16
// feature of 17 M elements takes 8 ms on one core, against 70 ms for a 64-bit hash per
// element pair.
inline std::uint32_t mix32(std::uint32_t h) {
  h ^= h >> 16;
  h *= 0x7feb352dU;
  h ^= h >> 15;
  h *= 0x846ca68bU;
  return h ^ (h >> 16);
}

struct MaskKey {
  std::uint32_t key0, key1, threshold;
  float scale;
  double exact_scale;  // for float64 and float16 tensors
  bool keeps(std::uint32_t index) const { return mix32(mix32(index ^ key0) + key1) >= threshold; }
};

inline float from_bf16(std::uint16_t bits) {
  const std::uint32_t wide = static_cast<std::uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &wide, sizeof f);
  return f;
}

// Round to nearest even, as c10::BFloat16 rounds (a quiet NaN stays a NaN).
inline std::uint16_t to_bf16(float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  bits += 0x7fffU + ((bits >> 16) & 1U);
  return static_cast<std::uint16_t>(bits >> 16);
}

// Kernels over `count` elements consecutive in memory whose logical indices are first,
// first + step, ... The two a training step runs are compiled for AVX-512, AVX2 and plain
// x86-64 and chosen at load time by the CPU (GCC function multi-versioning): the build
// stays portable, and the dropout of a 256 x 129 x 129 x 4 feature stays near memory speed.
__attribute__((target_clones("avx512f", "avx2", "default"))) void mask_bf16(const std::uint16_t* in, std::uint16_t* out,
                                                                            std::int64_t count, std::uint32_t first,
                                                                            std::uint32_t step, MaskKey key) {
  for (std::int64_t i = 0; i < count; ++i)
    out[i] = to_bf16(from_bf16(in[i]) * (key.keeps(first + static_cast<std::uint32_t>(i) * step) ? key.scale : 0.0f));
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void mask_float(const float* in, float* out, std::int64_t count,
                                                                             std::uint32_t first, std::uint32_t step,
                                                                             MaskKey key) {
  for (std::int64_t i = 0; i < count; ++i)
    out[i] = in[i] * (key.keeps(first + static_cast<std::uint32_t>(i) * step) ? key.scale : 0.0f);
}

template <typename T>
void mask_other(const T* in, T* out, std::int64_t count, std::uint32_t first, std::uint32_t step, MaskKey key) {
  for (std::int64_t i = 0; i < count; ++i)
    out[i] = key.keeps(first + static_cast<std::uint32_t>(i) * step)
                 ? static_cast<T>(static_cast<double>(in[i]) * key.exact_scale)
                 : T(0);
}

std::uint64_t draw_seed() {
  auto* generator = at::check_generator<at::CPUGeneratorImpl>(at::detail::getDefaultCPUGenerator());
  std::lock_guard<std::mutex> lock(generator->mutex_);
  return generator->random64();
}

// Applies the mask to `in` (contiguous, or channels-last contiguous) into `out` (the same
// layout), in parallel. Channels-last memory holds rows of C channels, one per (n, h, w),
// whose logical indices step by H x W.
template <typename T, typename Kernel>
void masked_scale(const at::Tensor& in, at::Tensor& out, bool channels_last, const MaskKey& key, Kernel kernel) {
  const T* src = static_cast<const T*>(in.data_ptr());
  T* dst = static_cast<T*>(out.data_ptr());
  if (!channels_last) {
    at::parallel_for(0, in.numel(), 65536, [&](std::int64_t begin, std::int64_t end) {
      kernel(src + begin, dst + begin, end - begin, static_cast<std::uint32_t>(begin), 1U, key);
    });
    return;
  }
  const std::int64_t c = in.size(1), h = in.size(2), w = in.size(3), plane = h * w;
  at::parallel_for(0, in.size(0) * plane, std::max<std::int64_t>(1, 65536 / std::max<std::int64_t>(1, c)),
                   [&](std::int64_t begin, std::int64_t end) {
                     for (std::int64_t row = begin; row < end; ++row) {
                       const std::int64_t n = row / plane, position = row % plane;
                       kernel(src + row * c, dst + row * c, c, static_cast<std::uint32_t>(n * c * plane + position),
                              static_cast<std::uint32_t>(plane), key);
                     }
                   });
}

bool is_channels_last(const at::Tensor& x) {
  return x.dim() == 4 && !x.is_contiguous() && x.is_contiguous(at::MemoryFormat::ChannelsLast);
}

at::Tensor apply_mask(const at::Tensor& x, double p, std::uint64_t seed) {
  const bool channels_last = is_channels_last(x);
  const at::Tensor in = channels_last ? x : x.contiguous();
  at::Tensor out =
      at::empty_like(in, in.options(), channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous);
  const double scale = 1.0 / (1.0 - p);
  const MaskKey key{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                    static_cast<std::uint32_t>(std::llround(std::min(std::ldexp(p, 32), 4294967295.0))),
                    static_cast<float>(scale), scale};
  switch (in.scalar_type()) {
    case at::kBFloat16:
      masked_scale<std::uint16_t>(in, out, channels_last, key, mask_bf16);
      break;
    case at::kFloat:
      masked_scale<float>(in, out, channels_last, key, mask_float);
      break;
    default:
      AT_DISPATCH_FLOATING_TYPES_AND(at::kHalf, in.scalar_type(), "segdistill::dropout",
                                     [&] { masked_scale<scalar_t>(in, out, channels_last, key, mask_other<scalar_t>); });
  }
  return out;
}

class DropoutFunction : public torch::autograd::Function<DropoutFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, double p) {
    const std::uint64_t seed = draw_seed();
    ctx->saved_data["p"] = p;
    ctx->saved_data["seed"] = static_cast<std::int64_t>(seed);
    return apply_mask(x, p, seed);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto seed = static_cast<std::uint64_t>(ctx->saved_data["seed"].toInt());
    return {apply_mask(grads[0], ctx->saved_data["p"].toDouble(), seed), at::Tensor()};
  }
};

}  // namespace

at::Tensor apply_dropout(const at::Tensor& x, double p, bool training) {
  if (!(p >= 0 && p <= 1)) throw Error("dropout probability " + std::to_string(p) + ": expected a value from 0 to 1");
  if (!training || p == 0 || x.numel() == 0) return x;
  if (p == 1) return x * 0;
  // Logical indices are 32-bit: a tensor of 2^32 elements or more (16 GiB in fp32), and
  // any tensor off the CPU, takes LibTorch's dropout.
  if (!x.device().is_cpu() || x.numel() >= (std::int64_t{1} << 32)) return at::dropout(x, p, true);
  return DropoutFunction::apply(x, p);
}

DropoutImpl::DropoutImpl(double p) : probability(p) {
  if (!(p >= 0 && p <= 1)) throw Error("dropout probability " + std::to_string(p) + ": expected a value from 0 to 1");
}

at::Tensor DropoutImpl::forward(const at::Tensor& x) { return apply_dropout(x, probability, is_training()); }

void DropoutImpl::pretty_print(std::ostream& stream) const { stream << "segdistill::Dropout(p=" << probability << ")"; }

}  // namespace segdistill
