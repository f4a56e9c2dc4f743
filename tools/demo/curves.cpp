#include <fstream>
#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "figures.hpp"
#include "plot_canvas.hpp"

namespace segdistill::demo {

namespace {

// Per key: (iteration, value) of every record of one type ("train" or "val").
using Curves = std::map<std::string, std::pair<std::vector<double>, std::vector<double>>>;

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

Series series_of(const std::string& label, const std::pair<std::vector<double>, std::vector<double>>& xy, std::size_t colour,
                 double scale = 1.0) {
  Series s{label, xy.first, xy.second, series_colour(colour)};
  for (double& y : s.y) y *= scale;
  return s;
}

}  // namespace

void draw_curves(const std::vector<NamedDir>& runs, const std::string& output) {
  std::vector<Series> ce, terms, miou;
  std::size_t term_colour = 0;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const auto& [name, dir] = runs[r];
    const RunCurves c = read_metrics(dir);
    if (auto it = c.train.find("loss_ce"); it != c.train.end()) ce.push_back(series_of(name, it->second, r));
    for (const auto& [key, xy] : c.train)
      if (key.rfind("loss_", 0) == 0 && key != "loss_ce")
        terms.push_back(series_of(name + ": " + key.substr(5), xy, term_colour++));
    if (auto it = c.val.find("mIoU"); it != c.val.end()) miou.push_back(series_of(name, it->second, r, 100.0));
  }
  cv::Mat image(560, 1500, CV_8UC3, cv::Scalar(255, 255, 255));
  draw_panel(image, {0, 0, 500, 560}, "training cross-entropy", "iteration", ce);
  draw_panel(image, {500, 0, 500, 560}, "distillation terms (weighted)", "iteration", terms);
  draw_panel(image, {1000, 0, 500, 560}, "validation mIoU (%)", "iteration", miou);
  if (!cv::imwrite(output, image)) throw std::runtime_error(output + ": cannot write the PNG");
}

}  // namespace segdistill::demo
