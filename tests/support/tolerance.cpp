#include "tolerance.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

namespace segdistill_test {

namespace {

void record(const std::string& what, double measured, double bound) {
  const char* log = std::getenv("SEGDISTILL_TOLERANCE_LOG");
  if (log == nullptr || *log == '\0') return;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string test = info ? fmt::format("{}.{}", info->test_suite_name(), info->name()) : "(outside a test)";
  const std::string line = fmt::format("{}\t{}\t{:.3e}\t{:.3e}\n", test, what, measured, bound);
  // One write of a short line with O_APPEND: tests running in parallel do not interleave.
  const int fd = ::open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  [[maybe_unused]] const auto written = ::write(fd, line.data(), line.size());
  ::close(fd);
}

}  // namespace

::testing::AssertionResult within(const std::string& what, double measured, double bound) {
  record(what, measured, bound);
  if (measured <= bound) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": measured " << measured << ", bound " << bound;
}

::testing::AssertionResult allclose(const std::string& what, const at::Tensor& a, const at::Tensor& b, double rtol, double atol) {
  if (a.sizes() != b.sizes()) return ::testing::AssertionFailure() << what << ": shapes " << a.sizes() << " and " << b.sizes();
  const at::Tensor x = a.to(at::kDouble), y = b.to(at::kDouble);
  const double worst = ((x - y).abs() / (atol + rtol * y.abs())).max().item<double>();
  return within(fmt::format("{} (|a-b| / ({:g} + {:g} |b|))", what, atol, rtol), worst, 1.0);
}

double relative_difference(const at::Tensor& a, const at::Tensor& b, double floor) {
  const at::Tensor x = a.to(at::kDouble), y = b.to(at::kDouble);
  return ((x - y).abs().max() / y.abs().max().clamp_min(floor)).item<double>();
}

}  // namespace segdistill_test
