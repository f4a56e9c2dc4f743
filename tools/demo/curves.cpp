#include <algorithm>
#include <fstream>
#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "figures.hpp"
#include "plot_canvas.hpp"

namespace segdistill::demo {

namespace {

// (iterations, values) of one key.
using XY = std::pair<std::vector<double>, std::vector<double>>;
// Per key: (iteration, value) of every record of one type ("train" or "val").
using Curves = std::map<std::string, XY>;

struct RunCurves {
  Curves train, val;
};

RunCurves read_metrics(const std::string& work_dir) {
  const std::string path = work_dir + "/metrics.jsonl";
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot read (is it a segdistill work dir?)");
  RunCurves curves;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(path + ":" + std::to_string(number) + ": not JSON: " + e.what());
    }
    Curves& into = record.value("type", "") == "val" ? curves.val : curves.train;
    const double iteration = record.value("iter", 0.0);
    for (const auto& [key, value] : record.items())
      if (value.is_number() && key != "iter" && key != "epoch") {
        into[key].first.push_back(iteration);
        into[key].second.push_back(value.get<double>());
      }
  }
  return curves;
}

// The mean over seeds of one curve, with the lowest and highest seed as its band, on
// the iterations every seed logged (the first seed's grid; seeds share the schedule).
Series mean_series(const std::string& label, const std::vector<const XY*>& seeds, std::size_t colour, double scale) {
  Series s;
  s.label = label;
  s.colour = series_colour(colour);
  const XY& first = *seeds.front();
  for (std::size_t i = 0; i < first.first.size(); ++i) {
    double sum = 0, low = 0, high = 0;
    std::size_t found = 0;
    for (const XY* seed : seeds) {
      if (i >= seed->first.size() || seed->first[i] != first.first[i]) continue;
      const double v = seed->second[i] * scale;
      low = found == 0 ? v : std::min(low, v);
      high = found == 0 ? v : std::max(high, v);
      sum += v;
      ++found;
    }
    if (found != seeds.size()) continue;  // an iteration some seed lacks
    s.x.push_back(first.first[i]);
    s.y.push_back(sum / static_cast<double>(found));
    if (seeds.size() > 1) s.low.push_back(low), s.high.push_back(high);
  }
  return s;
}

// Every seed's curve of `key`, or none when a seed lacks it.
std::vector<const XY*> curves_of(const std::vector<RunCurves>& seeds, bool val, const std::string& key) {
  std::vector<const XY*> out;
  for (const auto& seed : seeds) {
    const Curves& c = val ? seed.val : seed.train;
    auto it = c.find(key);
    if (it == c.end()) return {};
    out.push_back(&it->second);
  }
  return out;
}

}  // namespace

void draw_curves(const std::vector<RunGroup>& runs, const std::string& output) {
  std::vector<Series> ce, terms, miou;
  std::size_t term_colour = 0;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    std::vector<RunCurves> seeds;
    for (const auto& dir : runs[r].dirs) seeds.push_back(read_metrics(dir));
    const std::string& name = runs[r].name;
    const std::string label = seeds.size() > 1 ? name + " (mean of " + std::to_string(seeds.size()) + ")" : name;
    if (auto c = curves_of(seeds, false, "loss_ce"); !c.empty()) ce.push_back(mean_series(label, c, r, 1.0));
    for (const auto& [key, xy] : seeds.front().train)
      // One line per distiller (its weighted sum); its named parts (loss_NAME.PART) would crowd the panel.
      if (key.rfind("loss_", 0) == 0 && key != "loss_ce" && key.find('.') == std::string::npos)
        if (auto c = curves_of(seeds, false, key); !c.empty())
          terms.push_back(mean_series(name + ": " + key.substr(5), c, term_colour++, 1.0));
    if (auto c = curves_of(seeds, true, "mIoU"); !c.empty()) miou.push_back(mean_series(label, c, r, 100.0));
  }
  cv::Mat image(560, 1500, CV_8UC3, cv::Scalar(255, 255, 255));
  draw_panel(image, {0, 0, 500, 560}, "training cross-entropy", "iteration", ce);
  draw_panel(image, {500, 0, 500, 560}, "distillation terms (weighted)", "iteration", terms);
  draw_panel(image, {1000, 0, 500, 560}, "validation mIoU (%), band: range over seeds", "iteration", miou);
  if (!cv::imwrite(output, image)) throw std::runtime_error(output + ": cannot write the PNG");
}

}  // namespace segdistill::demo
