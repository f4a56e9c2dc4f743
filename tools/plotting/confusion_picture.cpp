#include "confusion_picture.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace segdistill::plotting {

namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr double kNameScale = 0.45;
const cv::Scalar kBlack(0, 0, 0), kWhite(255, 255, 255);

int text_width(const std::string& text, double scale) {
  int baseline = 0;
  return cv::getTextSize(text, kFont, scale, 1, &baseline).width;
}

// White (0) to dark blue (1), in BGR.
cv::Scalar shade(double share) {
  const double t = std::clamp(share, 0.0, 1.0);
  return {255 - t * (255 - 107), 255 - t * (255 - 48), 255 - t * (255 - 8)};
}

// A name written upwards: drawn on its side into a strip, then rotated.
void put_vertical_text(cv::Mat& image, const std::string& text, cv::Point bottom_left) {
  const int width = text_width(text, kNameScale) + 4, height = 16;
  cv::Mat strip(height, width, CV_8UC3, kWhite);
  cv::putText(strip, text, {2, height - 4}, kFont, kNameScale, kBlack, 1, cv::LINE_AA);
  cv::Mat upright;
  cv::rotate(strip, upright, cv::ROTATE_90_COUNTERCLOCKWISE);
  const cv::Rect into(bottom_left.x, bottom_left.y - upright.rows, upright.cols, upright.rows);
  const cv::Rect clipped = into & cv::Rect(0, 0, image.cols, image.rows);
  if (clipped.area() > 0) upright(clipped - into.tl()).copyTo(image(clipped));
}

}  // namespace

ConfusionLayout confusion_layout(std::size_t classes, const std::vector<std::string>& class_names) {
  int longest = 0;
  for (const auto& name : class_names) longest = std::max(longest, text_width(name, kNameScale));
  ConfusionLayout layout;
  // Cells big enough for "0.00" up to 30 classes; smaller (no numbers) beyond.
  layout.cell = classes <= 30 ? 44 : std::max(8, 1320 / static_cast<int>(classes));
  layout.left = longest + 40;
  layout.top = longest + 64;
  return layout;
}

void draw_confusion_matrix(const std::vector<std::int64_t>& counts, const std::vector<std::string>& class_names,
                           const std::string& output) {
  const std::size_t n = class_names.size();
  if (n == 0 || counts.size() != n * n)
    throw std::runtime_error("confusion matrix: " + std::to_string(counts.size()) + " counts for " + std::to_string(n) +
                             " classes (expected classes x classes)");
  const ConfusionLayout layout = confusion_layout(n, class_names);
  const int side = layout.cell * static_cast<int>(n);
  const std::string subtitle = "rows: label (each row sums to 1), columns: prediction";
  const int width = std::max(layout.left + side + 30, text_width(subtitle, 0.45) + 20);
  cv::Mat image(layout.top + side + 50, width, CV_8UC3, kWhite);
  cv::putText(image, "confusion matrix", {10, 22}, kFont, 0.6, kBlack, 2, cv::LINE_AA);
  cv::putText(image, subtitle, {10, 42}, kFont, 0.45, kBlack, 1, cv::LINE_AA);
  for (std::size_t r = 0; r < n; ++r) {
    std::int64_t row_total = 0;
    for (std::size_t c = 0; c < n; ++c) row_total += counts[r * n + c];
    for (std::size_t c = 0; c < n; ++c) {
      const double share = row_total > 0 ? static_cast<double>(counts[r * n + c]) / static_cast<double>(row_total) : 0.0;
      const cv::Rect cell(layout.left + static_cast<int>(c) * layout.cell, layout.top + static_cast<int>(r) * layout.cell,
                          layout.cell, layout.cell);
      cv::rectangle(image, cell, shade(share), cv::FILLED);
      if (layout.cell >= 40 && row_total > 0) {
        char text[16];
        std::snprintf(text, sizeof text, "%.2f", share);
        cv::putText(image, text, {cell.x + 5, cell.y + layout.cell / 2 + 5}, kFont, 0.4, share > 0.5 ? kWhite : kBlack, 1,
                    cv::LINE_AA);
      }
    }
    // A class with no labelled pixel has no row to normalise: marked rather than shown as zeros.
    // Names need 16 pixels a row: with many classes only every k-th is written.
    const std::size_t every = layout.cell >= 16 ? 1 : static_cast<std::size_t>((16 + layout.cell - 1) / layout.cell);
    if (r % every != 0) continue;
    const int y = layout.top + static_cast<int>(r) * layout.cell;
    const std::string name = row_total > 0 ? class_names[r] : class_names[r] + " (absent)";
    cv::putText(image, name, {layout.left - 8 - text_width(name, kNameScale), y + layout.cell / 2 + 5}, kFont, kNameScale, kBlack,
                1, cv::LINE_AA);
    put_vertical_text(image, class_names[r],
                      {layout.left + static_cast<int>(r) * layout.cell + layout.cell / 2 - 8, layout.top - 6});
  }
  cv::rectangle(image, {layout.left, layout.top, side, side}, kBlack, 1);
  cv::putText(image, "prediction", {layout.left + side / 2 - 40, image.rows - 18}, kFont, 0.5, kBlack, 1, cv::LINE_AA);
  if (!cv::imwrite(output, image)) throw std::runtime_error(output + ": cannot write the PNG");
}

}  // namespace segdistill::plotting
