// Portable random draws (segdistill/core/random.hpp): exact 128-bit products and ranges.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "segdistill/core/random.hpp"

using namespace segdistill;

TEST(Random, MultiplyHighIsTheExactHighWord) {
  constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(multiply_high(max, max), max - 1);  // (2^64 - 1)^2 = 2^128 - 2^65 + 1
  EXPECT_EQ(multiply_high(std::uint64_t{1} << 63, 4), 2u);
  EXPECT_EQ(multiply_high(0xffffffffu, 0xffffffffu), 0u);
  EXPECT_EQ(multiply_high(std::uint64_t{1} << 32, std::uint64_t{1} << 32), 1u);
  // (2^64 - 1) * 3 = 2 * 2^64 + (2^64 - 3): the high word is 2.
  EXPECT_EQ(multiply_high(max, 3), 2u);
}

TEST(Random, DrawsStayInTheirRanges) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 10000; ++i) {
    const double u = uniform01(rng);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    const int k = uniform_int(rng, -3, 4);
    ASSERT_GE(k, -3);
    ASSERT_LE(k, 4);
    ASSERT_LT(draw_below(rng, 17), 17u);
  }
}

TEST(Random, TheSameSeedGivesTheSameDraws) {
  // mt19937_64 is specified exactly by the standard: its 10000th output is fixed.
  std::mt19937_64 rng;
  rng.discard(9999);
  EXPECT_EQ(rng(), 9981545732273789042ull);
  std::mt19937_64 a(11), b(11);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(uniform01(a), uniform01(b));
}
