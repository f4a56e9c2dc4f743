#include "training_curves.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "metrics_records.hpp"
#include "plot_canvas.hpp"

namespace segdistill::plotting {

namespace {

// (iterations, values) of one key.
using XY = std::pair<std::vector<double>, std::vector<double>>;
// Per key: (iteration, value) of every record of one type ("train" or "val").
using Curves = std::map<std::string, XY>;

struct RunCurves {
  Curves train, val;
};

RunCurves read_metrics(const std::string& work_dir) {
  RunCurves curves;
  for (const auto& record : read_metrics_records(work_dir)) {
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

// "no run logged METRIC" with the keys the runs did log, so that a typo is plain.
std::string no_such_metric(const std::string& metric, const std::vector<std::vector<RunCurves>>& runs) {
  std::set<std::string> train, val;
  for (const auto& seeds : runs)
    for (const auto& seed : seeds) {
      for (const auto& entry : seed.train) train.insert(entry.first);
      for (const auto& entry : seed.val) val.insert(entry.first);
    }
  auto join = [](const std::set<std::string>& keys) {
    std::string out;
    for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
    return out.empty() ? std::string("none") : out;
  };
  return "--metrics " + metric + ": no run logged it (validation: " + join(val) + "; training: " + join(train) +
         "; and distill, every distiller's term)";
}

}  // namespace

RunGroup parse_run_group(const std::string& argument) {
  const auto eq = argument.find('=');
  if (eq == std::string::npos) {
    const std::string name = std::filesystem::path(argument).lexically_normal().filename().string();
    if (argument.empty()) throw std::runtime_error("an empty work dir name");
    return {name.empty() ? argument : name, {argument}};
  }
  if (eq == 0 || eq + 1 == argument.size()) throw std::runtime_error("'" + argument + "': expected NAME=DIR[,DIR...]");
  RunGroup group{argument.substr(0, eq), {}};
  std::size_t begin = eq + 1;
  for (std::size_t comma; (comma = argument.find(',', begin)) != std::string::npos; begin = comma + 1)
    group.dirs.push_back(argument.substr(begin, comma - begin));
  group.dirs.push_back(argument.substr(begin));
  for (const auto& dir : group.dirs)
    if (dir.empty()) throw std::runtime_error("'" + argument + "': an empty folder name");
  return group;
}

void draw_training_curves(const std::vector<RunGroup>& runs, const std::vector<std::string>& metrics, const std::string& output) {
  if (runs.empty()) throw std::runtime_error("no run to plot");
  if (metrics.empty()) throw std::runtime_error("no metric to plot");
  std::vector<std::vector<RunCurves>> seeds_of_run;
  for (const auto& run : runs) {
    std::vector<RunCurves> seeds;
    for (const auto& dir : run.dirs) seeds.push_back(read_metrics(dir));
    seeds_of_run.push_back(std::move(seeds));
  }
  std::vector<std::vector<Series>> panels(metrics.size());
  std::vector<std::string> titles;
  for (std::size_t m = 0; m < metrics.size(); ++m) {
    const std::string& metric = metrics[m];
    std::size_t term_colour = 0;
    bool val_metric = false;
    for (std::size_t r = 0; r < runs.size(); ++r) {
      const auto& seeds = seeds_of_run[r];
      const std::string& name = runs[r].name;
      const std::string label = seeds.size() > 1 ? name + " (mean of " + std::to_string(seeds.size()) + ")" : name;
      if (metric == "distill") {
        for (const auto& [key, xy] : seeds.front().train)
          // One line per distiller (its weighted sum); its named parts (loss_NAME.PART) would crowd the panel.
          if (key.rfind("loss_", 0) == 0 && key != "loss_ce" && key.find('.') == std::string::npos)
            if (auto c = curves_of(seeds, false, key); !c.empty())
              panels[m].push_back(mean_series(name + ": " + key.substr(5), c, term_colour++, 1.0));
      } else if (auto v = curves_of(seeds, true, metric); !v.empty()) {
        val_metric = true;
        panels[m].push_back(mean_series(label, v, r, 100.0));
      } else if (auto t = curves_of(seeds, false, metric); !t.empty()) {
        panels[m].push_back(mean_series(label, t, r, 1.0));
      }
    }
    if (panels[m].empty() && metric != "distill") throw std::runtime_error(no_such_metric(metric, seeds_of_run));
    const bool banded = std::any_of(runs.begin(), runs.end(), [](const RunGroup& g) { return g.dirs.size() > 1; });
    std::string title = metric == "distill"   ? "distillation terms (weighted)"
                        : metric == "loss_ce" ? "training cross-entropy"
                        : val_metric          ? "validation " + metric + " (%)"
                                              : metric;
    if (banded) title += metric == "distill" ? ", mean over seeds" : ", band: range over seeds";
    titles.push_back(title);
  }
  const int columns = static_cast<int>(std::min<std::size_t>(metrics.size(), 3));
  const int rows = static_cast<int>((metrics.size() + 2) / 3);
  constexpr int kWidth = 500, kHeight = 560;
  cv::Mat image(rows * kHeight, columns * kWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  for (std::size_t m = 0; m < metrics.size(); ++m) {
    const int col = static_cast<int>(m % 3), row = static_cast<int>(m / 3);
    draw_panel(image, {col * kWidth, row * kHeight, kWidth, kHeight}, titles[m], "iteration", panels[m]);
  }
  if (!cv::imwrite(output, image)) throw std::runtime_error(output + ": cannot write the PNG");
}

}  // namespace segdistill::plotting
