#pragma once
// A line-chart panel drawn into part of an OpenCV image: axes with round ticks, titled
// series with a legend. Enough for training curves, without a plotting dependency.
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace segdistill::plotting {

struct Series {
  std::string label;
  std::vector<double> x, y;
  cv::Scalar colour;
  bool dashed = false;
  // Optional band drawn under the line (the range over seeds), one value per x.
  std::vector<double> low, high;
};

// Draws `series` into `area` of `image` with the title and axis labels.
void draw_panel(cv::Mat& image, const cv::Rect& area, const std::string& title, const std::string& x_label,
                const std::vector<Series>& series);

// Colours that stay apart on white, by index.
cv::Scalar series_colour(std::size_t index);

}  // namespace segdistill::plotting
