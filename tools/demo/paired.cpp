#include "paired.hpp"

#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>

#include <boost/math/distributions/students_t.hpp>

namespace segdistill::demo {

double t_quantile(double confidence, int degrees) {
  if (degrees < 1 || !(confidence > 0 && confidence < 1))
    throw std::invalid_argument("t_quantile: needs degrees >= 1 and 0 < confidence < 1");
  return boost::math::quantile(boost::math::students_t(degrees), 0.5 + confidence / 2);
}

PairedComparison compare_paired(const std::vector<double>& row, const std::vector<double>& baseline, double confidence) {
  if (row.empty() || row.size() != baseline.size())
    throw std::invalid_argument("compare_paired: " + std::to_string(row.size()) + " against " + std::to_string(baseline.size()) +
                                " seeds; a paired comparison needs the same seeds");
  PairedComparison out;
  for (std::size_t i = 0; i < row.size(); ++i) out.differences.push_back(row[i] - baseline[i]);
  const auto n = static_cast<double>(row.size());
  out.mean = std::accumulate(out.differences.begin(), out.differences.end(), 0.0) / n;
  out.low = out.high = out.mean;
  if (row.size() < 2) return out;
  double squares = 0;
  for (double d : out.differences) squares += (d - out.mean) * (d - out.mean);
  const double half = t_quantile(confidence, static_cast<int>(row.size()) - 1) * std::sqrt(squares / (n - 1) / n);
  out.low = out.mean - half;
  out.high = out.mean + half;
  out.has_interval = true;
  return out;
}

std::string verdict(const PairedComparison& c, const std::string& baseline) {
  if (!c.has_interval) return "one seed: no interval";
  char interval[64];
  std::snprintf(interval, sizeof interval, "[%+.2f, %+.2f]", c.low, c.high);
  char size[32];
  std::snprintf(size, sizeof size, "%.2f", std::fabs(c.mean));
  if (c.low > 0) return "beats " + baseline + " by " + size + " " + interval;
  if (c.high < 0) return "worse than " + baseline + " by " + size + " " + interval;
  char mean[32];
  std::snprintf(mean, sizeof mean, "%+.2f", c.mean);
  return "no difference shown: " + std::string(mean) + " " + interval;
}

}  // namespace segdistill::demo
