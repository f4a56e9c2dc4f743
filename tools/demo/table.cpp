#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "figures.hpp"
#include "paired.hpp"

namespace segdistill::demo {

namespace {

std::string printf_string(const char* format, double a, double b = 0) {
  char text[64];
  std::snprintf(text, sizeof text, format, a, b);
  return text;
}

std::string padded(const std::string& text, std::size_t width) {
  return text.size() >= width ? text + " " : text + std::string(width - text.size(), ' ');
}

nlohmann::json read_report(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot read (run `segdistill eval ... --json` first)");
  nlohmann::json report = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!report.is_object()) throw std::runtime_error(path + ": not a JSON object (is it an eval report?)");
  return report;
}

std::size_t converged_runs(const ModelScores& m) {
  std::size_t n = 0;
  for (const auto& c : m.convergence) n += c.converged;
  return n;
}

}  // namespace

double ModelScores::mean() const { return std::accumulate(miou.begin(), miou.end(), 0.0) / static_cast<double>(miou.size()); }

double ModelScores::spread() const {
  if (miou.size() < 2) return 0;
  const double m = mean();
  double squares = 0;
  for (double v : miou) squares += (v - m) * (v - m);
  return std::sqrt(squares / static_cast<double>(miou.size() - 1));
}

ModelScores read_scores(const RunGroup& group) {
  ModelScores scores{group.name, {}, {}, 0};
  for (const auto& dir : group.dirs) {
    const std::string path = dir + "/eval.json";
    const auto report = read_report(path);
    if (!report.contains("mIoU") || !report["mIoU"].is_number())
      throw std::runtime_error(path + ": no numeric mIoU (is it an eval report?)");
    scores.miou.push_back(100.0 * report["mIoU"].get<double>());
    scores.parameters = report.value("parameters", 0LL);
    scores.convergence.push_back(check_convergence(read_validations(dir)));
  }
  return scores;
}

Speed read_speed(const std::string& name, const std::string& eval_json) {
  const auto report = read_report(eval_json);
  const double samples = report.value("samples", 0.0), seconds = report.value("seconds", 0.0);
  if (!(samples > 0 && seconds > 0)) throw std::runtime_error(eval_json + ": no positive \"samples\" and \"seconds\"");
  return {name, samples / seconds};
}

namespace {

std::string seed_name(const std::vector<std::string>& seed_labels, std::size_t i) {
  return i < seed_labels.size() ? "seed " + seed_labels[i] : "run " + std::to_string(i);
}

// One row per setting: mean +- sd, each seed, parameters, converged runs; then every run
// that did not converge, named.
std::string runs_table(const std::vector<ModelScores>& models, const std::vector<std::string>& seed_labels) {
  std::size_t seeds = 0;
  for (const auto& m : models) seeds = std::max(seeds, m.miou.size());
  std::string out = padded("model", 16) + padded("mIoU mean +- sd", 18);
  for (std::size_t i = 0; i < seeds; ++i) out += padded(seed_name(seed_labels, i), 9);
  out += padded("parameters", 12) + "converged\n";
  std::string not_converged;
  for (const auto& m : models) {
    const bool several = m.miou.size() > 1;
    out += padded(m.name, 16) +
           padded(several ? printf_string("%.2f +- %.2f", m.mean(), m.spread()) : printf_string("%.2f", m.mean()), 18);
    for (std::size_t i = 0; i < seeds; ++i)
      out += padded(several && i < m.miou.size() ? printf_string("%.2f", m.miou[i]) : "", 9);
    out += padded(std::to_string(m.parameters), 12) + std::to_string(converged_runs(m)) + " of " +
           std::to_string(m.convergence.size()) + "\n";
    for (std::size_t i = 0; i < m.convergence.size(); ++i)
      if (!m.convergence[i].converged)
        not_converged += "  " + m.name + (several ? " " + seed_name(seed_labels, i) : "") + ": " + m.convergence[i].reason + "\n";
  }
  if (!not_converged.empty()) out += "NOT converged (wanted: >= 6 validations, the last two within 1.0 point):\n" + not_converged;
  return out;
}

// Every row with the baseline's number of seeds against the baseline, seed by seed.
std::string paired_table(const std::vector<ModelScores>& models, const ModelScores& base) {
  const std::size_t n = base.miou.size();
  std::string out = "\npaired against " + base.name + " (same seeds; mean difference and 95% t-interval over " +
                    std::to_string(n) + " seeds, in mIoU points):\n" + padded("  row", 18) + padded("mean", 8) +
                    padded("95% interval", 18) + padded("each seed", 9 * n) + "verdict\n";
  for (const auto& m : models) {
    if (&m == &base || m.miou.size() != n) continue;
    const auto c = compare_paired(m.miou, base.miou);
    std::string each;
    for (double d : c.differences) each += printf_string("%+.2f", d) + " ";
    out += "  " + padded(m.name, 16) + padded(printf_string("%+.2f", c.mean), 8) +
           padded(c.has_interval ? printf_string("[%+.2f, %+.2f]", c.low, c.high) : "-", 18) + padded(each, 9 * n) +
           verdict(c, base.name) + "\n";
  }
  return out;
}

}  // namespace

std::string format_table(const std::vector<ModelScores>& models, const std::vector<std::string>& seed_labels,
                         const std::vector<Speed>& speeds, const std::string& baseline, const std::string& headline) {
  std::string out = runs_table(models, seed_labels);
  if (!speeds.empty()) {
    out += "evaluation speed, each network measured alone after training:";
    for (const auto& s : speeds) out += " " + s.name + printf_string(" %.1f images/s", s.images_per_second) + ";";
    out.back() = '\n';
  }
  const ModelScores* base = nullptr;
  for (const auto& m : models)
    if (m.name == baseline) base = &m;
  if (base == nullptr) return out;
  out += paired_table(models, *base);
  for (const auto& m : models) {
    if (m.name != headline || &m == base || m.miou.size() != base->miou.size()) continue;
    out += "\nheadline (" + headline + " against " + baseline + ", mIoU points, 95% t-interval over " +
           std::to_string(m.miou.size()) + " seeds): " + verdict(compare_paired(m.miou, base->miou), baseline);
    const std::size_t unsettled = (m.convergence.size() - converged_runs(m)) + (base->convergence.size() - converged_runs(*base));
    if (unsettled > 0) out += "; " + std::to_string(unsettled) + " of these runs did not converge (named above)";
    out += "\n";
  }
  return out;
}

}  // namespace segdistill::demo
