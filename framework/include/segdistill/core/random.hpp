#pragma once
// Random draws that are the same on every standard library and machine. The standard
// distributions (std::uniform_int_distribution, ...) are implementation-defined, so a
// seed would give other crops on libc++ than on libstdc++; mt19937_64 itself is exact.
#include <cstdint>
#include <random>

namespace segdistill {

// Uniform in [0, 1) from the generator's top 53 bits.
inline double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Uniform integer in [lo, hi] (inclusive), hi >= lo.
inline int uniform_int(std::mt19937_64& rng, int lo, int hi) {
  return lo + static_cast<int>(uniform01(rng) * static_cast<double>(hi - lo + 1));
}

// True with probability p.
inline bool bernoulli(std::mt19937_64& rng, double p) { return uniform01(rng) < p; }

// The high 64 bits of the 128-bit product a * b, exactly, without a 128-bit type.
inline std::uint64_t multiply_high(std::uint64_t a, std::uint64_t b) {
  const std::uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32, b_lo = b & 0xffffffffu, b_hi = b >> 32;
  const std::uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
  const std::uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xffffffffu) + lo_hi;
  return hi_hi + (hi_lo >> 32) + (cross >> 32);
}

// Uniform in [0, bound) by multiply-shift: no division, bias below 2^-64 * bound.
inline std::uint64_t draw_below(std::mt19937_64& rng, std::uint64_t bound) { return multiply_high(rng(), bound); }

}  // namespace segdistill
