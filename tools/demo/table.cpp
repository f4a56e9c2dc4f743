#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "figures.hpp"

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
  ModelScores scores{group.name, {}, 0, 0};
  for (const auto& dir : group.dirs) {
    const std::string path = dir + "/eval.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error(path + ": cannot read (run `segdistill eval ... --json` first)");
    nlohmann::json report;
    try {
      report = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(path + ": not JSON: " + e.what());
    }
    if (!report.contains("mIoU") || !report["mIoU"].is_number())
      throw std::runtime_error(path + ": no numeric mIoU (is it an eval report?)");
    scores.miou.push_back(100.0 * report["mIoU"].get<double>());
    scores.parameters = report.value("parameters", 0LL);
    const double seconds = report.value("seconds", 0.0);
    if (seconds > 0) scores.images_per_second += report.value("samples", 0.0) / seconds / static_cast<double>(group.dirs.size());
  }
  return scores;
}

std::string format_table(const std::vector<ModelScores>& models, const std::string& baseline, const std::string& headline,
                         double margin) {
  std::string out =
      padded("model", 16) + padded("mIoU (mean +- sd)", 20) + padded("each seed", 28) + padded("parameters", 12) + "images/s\n";
  const ModelScores* base = nullptr;
  for (const auto& m : models) {
    std::string seeds;
    for (double v : m.miou) seeds += printf_string("%.2f ", v);
    const std::string mean =
        m.miou.size() > 1 ? printf_string("%.2f +- %.2f", m.mean(), m.spread()) : printf_string("%.2f", m.mean());
    out += padded(m.name, 16) + padded(mean, 20) + padded(seeds, 28) + padded(std::to_string(m.parameters), 12) +
           printf_string("%.1f", m.images_per_second) + "\n";
    if (m.name == baseline) base = &m;
  }
  if (base == nullptr) return out;
  out += "\nagainst " + baseline + " (same seeds):\n";
  const ModelScores* best = base;
  const ModelScores* claimed = nullptr;
  std::size_t claimed_wins = 0;
  for (const auto& m : models) {
    if (&m == base || m.miou.size() != base->miou.size()) continue;
    std::size_t wins = 0;
    for (std::size_t i = 0; i < m.miou.size(); ++i) wins += m.miou[i] > base->miou[i];
    out += "  " + padded(m.name, 16) + "better on " + std::to_string(wins) + " of " + std::to_string(m.miou.size()) +
           " seeds, mean " + printf_string("%+.2f", m.mean() - base->mean()) + " points\n";
    if (m.mean() > best->mean()) best = &m;
    if (m.name == headline) claimed = &m, claimed_wins = wins;
  }
  out += "best student row: " + best->name + printf_string(" (%.2f)", best->mean()) + "\n";
  if (claimed == nullptr) return out;
  const double gain = claimed->mean() - base->mean();
  const bool every_seed = claimed_wins == claimed->miou.size(), enough = gain >= margin, is_best = claimed == best;
  if (every_seed && enough && is_best)
    out += "headline: " + headline + " beats " + baseline + " on every seed, by " + printf_string("%.2f", gain) +
           " points on the mean, and is the best student row\n";
  else
    out += "headline: " + headline + " does NOT clearly beat " + baseline + ": better on " + std::to_string(claimed_wins) +
           " of " + std::to_string(claimed->miou.size()) + " seeds, " + printf_string("%+.2f", gain) + " points on the mean" +
           printf_string(" (wanted: every seed and >= %.1f)", margin) + (is_best ? "" : ", not the best student row") + "\n";
  return out;
}

}  // namespace segdistill::demo
