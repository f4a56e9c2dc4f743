#pragma once
// Numerical bounds that say what they measured. Every comparison of floating-point results
// goes through these, so that `tools/test.sh --cpu-kernels` can tabulate the measured
// value of each bound under every kernel setting (tests/TOLERANCES.md): the line is
// appended to $SEGDISTILL_TOLERANCE_LOG when that is set.
#include <string>

#include <ATen/core/Tensor.h>
#include <gtest/gtest.h>

namespace segdistill_test {

// measured <= bound, with the pair recorded under the running test's name; the failure
// message names `what` and both numbers. Use as EXPECT_TRUE(within(...)) << context.
::testing::AssertionResult within(const std::string& what, double measured, double bound);
inline void expect_within(const std::string& what, double measured, double bound) { EXPECT_TRUE(within(what, measured, bound)); }

// torch::allclose(a, b, rtol, atol), recording the worst element's |a - b| / (atol + rtol |b|)
// against 1 (NaN fails).
::testing::AssertionResult allclose(const std::string& what, const at::Tensor& a, const at::Tensor& b, double rtol, double atol);

// max |a - b| / max |b| in float64 (max |b| taken as at least `floor`).
double relative_difference(const at::Tensor& a, const at::Tensor& b, double floor = 1e-300);

// A bound derived from a noise floor measured in the same test: `k` x floor + `eps`.
// k says how many times the measured spread of a correct computation the tested one may
// reach; eps covers a floor that happens to come out (near) zero.
inline double from_floor(double floor, double k, double eps) { return k * floor + eps; }

}  // namespace segdistill_test
