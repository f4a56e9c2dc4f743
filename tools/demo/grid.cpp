#include <fstream>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "figures.hpp"

namespace segdistill::demo {

namespace {

cv::Mat read_image(const std::string& path) {
  // Palette PNGs (labels, predictions) come back in their palette colours.
  cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  if (image.empty()) throw std::runtime_error(path + ": cannot read the image");
  return image;
}

std::vector<std::string> first_ids(const std::string& list, int count) {
  std::ifstream in(list);
  if (!in) throw std::runtime_error(list + ": cannot read the split list");
  std::vector<std::string> ids;
  for (std::string id; static_cast<int>(ids.size()) < count && in >> id;) ids.push_back(id);
  if (ids.empty()) throw std::runtime_error(list + ": the split is empty");
  return ids;
}

std::vector<std::string> class_names(const std::string& data_root) {
  std::ifstream in(data_root + "/classes.txt");
  std::vector<std::string> names;
  for (std::string name; std::getline(in, name);)
    if (!name.empty()) names.push_back(name);
  return names;
}

// Colour of label `index` in the Pascal VOC palette that labels and predictions use
// (bits of the index spread over the high bits of R, G and B), as BGR.
cv::Scalar voc_colour(int index) {
  int rgb[3] = {0, 0, 0};
  for (int shift = 7, i = index; i > 0; --shift, i >>= 3)
    for (int channel = 0; channel < 3; ++channel) rgb[channel] |= ((i >> channel) & 1) << shift;
  return cv::Scalar(rgb[2], rgb[1], rgb[0]);
}

constexpr int kLegendRow = 28;

// Where each class's swatch goes in a legend `width` pixels wide: left to right, a new
// row of kLegendRow pixels when the next name would not fit.
std::vector<cv::Point> legend_layout(const std::vector<std::string>& names, int width) {
  std::vector<cv::Point> at;
  int x = 4, y = 0;
  for (const auto& name : names) {
    const int entry = 24 + 9 * static_cast<int>(name.size());
    if (x > 4 && x + entry > width) x = 4, y += kLegendRow;
    at.emplace_back(x, y);
    x += entry;
  }
  return at;
}

// Colour swatches with the class names (data_root/classes.txt), if present.
void draw_legend(cv::Mat& grid, const std::vector<std::string>& names, int top) {
  const auto at = legend_layout(names, grid.cols);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const cv::Rect swatch(at[i].x, top + at[i].y + 6, 14, 14);
    cv::rectangle(grid, swatch, voc_colour(static_cast<int>(i)), cv::FILLED);
    cv::rectangle(grid, swatch, cv::Scalar(128, 128, 128), 1);
    cv::putText(grid, names[i], {at[i].x + 18, top + at[i].y + 18}, cv::FONT_HERSHEY_SIMPLEX, 0.45, {0, 0, 0}, 1, cv::LINE_AA);
  }
}

}  // namespace

void draw_grid(const std::string& data_root, const std::vector<NamedDir>& predictions, int count, int cell,
               const std::string& output) {
  const std::vector<std::string> ids = first_ids(data_root + "/ImageSets/Segmentation/val.txt", count);
  std::vector<std::string> titles{"image", "label"};
  for (const auto& [name, dir] : predictions) titles.push_back(name);
  const std::vector<std::string> names = class_names(data_root);
  const int header = 30, gap = 4;
  const int columns = static_cast<int>(titles.size());
  const int legend = names.empty() ? 0 : legend_layout(names, columns * (cell + gap)).back().y + kLegendRow;
  const int rows_bottom = header + static_cast<int>(ids.size()) * (cell + gap);
  cv::Mat grid(rows_bottom + legend, columns * (cell + gap), CV_8UC3, cv::Scalar(255, 255, 255));
  draw_legend(grid, names, rows_bottom);
  for (int c = 0; c < columns; ++c)
    cv::putText(grid, titles[c], {c * (cell + gap) + 4, header - 10}, cv::FONT_HERSHEY_SIMPLEX, 0.5, {0, 0, 0}, 1, cv::LINE_AA);
  for (std::size_t r = 0; r < ids.size(); ++r) {
    std::vector<std::string> paths{data_root + "/JPEGImages/" + ids[r] + ".jpg",
                                   data_root + "/SegmentationClass/" + ids[r] + ".png"};
    for (const auto& [name, dir] : predictions) paths.push_back(dir + "/" + ids[r] + ".png");
    for (int c = 0; c < columns; ++c) {
      cv::Mat tile;
      // Nearest neighbour keeps label colours exact.
      cv::resize(read_image(paths[c]), tile, {cell, cell}, 0, 0, c == 0 ? cv::INTER_AREA : cv::INTER_NEAREST);
      tile.copyTo(grid(cv::Rect(c * (cell + gap), header + static_cast<int>(r) * (cell + gap), cell, cell)));
    }
  }
  if (!cv::imwrite(output, grid)) throw std::runtime_error(output + ": cannot write the PNG");
}

}  // namespace segdistill::demo
