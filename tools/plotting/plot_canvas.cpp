#include "plot_canvas.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>

#include <opencv2/imgproc.hpp>

namespace segdistill::plotting {

namespace {

const cv::Scalar kBlack(0, 0, 0), kGrey(200, 200, 200);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

// A step of 1, 2 or 5 x 10^k giving about `count` ticks over [low, high].
double tick_step(double low, double high, int count) {
  const double raw = (high - low) / count;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= raw) return m * power;
  return 10.0 * power;
}

std::string tick_text(double v, double step) {
  char text[32];
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step)));
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}

void put_text(cv::Mat& image, const std::string& text, cv::Point at, double scale, int thickness = 1) {
  cv::putText(image, text, at, kFont, scale, kBlack, thickness, cv::LINE_AA);
}

// The band between low and high, in the series' colour faded towards white.
void draw_band(cv::Mat& image, const Series& s, const std::function<cv::Point(double, double)>& to_pixel) {
  if (s.low.size() != s.x.size() || s.high.size() != s.x.size() || s.x.size() < 2) return;
  std::vector<cv::Point> outline;
  for (std::size_t i = 0; i < s.x.size(); ++i) outline.push_back(to_pixel(s.x[i], s.high[i]));
  for (std::size_t i = s.x.size(); i-- > 0;) outline.push_back(to_pixel(s.x[i], s.low[i]));
  cv::Mat layer = image.clone();
  cv::fillPoly(layer, std::vector<std::vector<cv::Point>>{outline}, s.colour, cv::LINE_AA);
  cv::addWeighted(layer, 0.25, image, 0.75, 0, image);
}

void draw_series(cv::Mat& image, const Series& s, const std::function<cv::Point(double, double)>& to_pixel) {
  for (std::size_t i = 1; i < s.x.size(); ++i) {
    if (s.dashed && i % 2 == 0) continue;
    cv::line(image, to_pixel(s.x[i - 1], s.y[i - 1]), to_pixel(s.x[i], s.y[i]), s.colour, 2, cv::LINE_AA);
  }
  if (s.x.size() == 1) cv::circle(image, to_pixel(s.x[0], s.y[0]), 3, s.colour, cv::FILLED, cv::LINE_AA);
}

}  // namespace

cv::Scalar series_colour(std::size_t index) {
  static const cv::Scalar colours[] = {{180, 119, 31},  {14, 127, 255}, {44, 160, 44},   {40, 39, 214},
                                       {189, 103, 148}, {75, 86, 140},  {194, 119, 227}, {127, 127, 127}};
  return colours[index % (sizeof colours / sizeof colours[0])];
}

void draw_panel(cv::Mat& image, const cv::Rect& area, const std::string& title, const std::string& x_label,
                const std::vector<Series>& series) {
  const cv::Rect plot(area.x + 60, area.y + 35, area.width - 80, area.height - 35 - 150);
  // A long title is drawn smaller rather than running into the next panel.
  double title_scale = 0.6;
  for (int baseline = 0; title_scale > 0.35 && cv::getTextSize(title, kFont, title_scale, 2, &baseline).width > area.width - 70;)
    title_scale -= 0.05;
  put_text(image, title, {area.x + 60, area.y + 22}, title_scale, title_scale >= 0.5 ? 2 : 1);
  double x0 = std::numeric_limits<double>::max(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& s : series)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
      if (i < s.high.size()) y1 = std::max(y1, s.high[i]);
      if (i < s.low.size()) y0 = std::min(y0, s.low[i]);
    }
  if (x0 > x1) {
    put_text(image, "(no data)", {plot.x + 10, plot.y + plot.height / 2}, 0.5);
    return;
  }
  y0 = std::min(y0, 0.0);  // losses and mIoU read best from zero
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  y1 += 0.05 * (y1 - y0);
  const auto to_pixel = [&](double x, double y) {
    return cv::Point(plot.x + static_cast<int>(std::lround((x - x0) / (x1 - x0) * plot.width)),
                     plot.y + plot.height - static_cast<int>(std::lround((y - y0) / (y1 - y0) * plot.height)));
  };
  const double ystep = tick_step(y0, y1, 5), xstep = tick_step(x0, x1, 6);
  for (double y = std::ceil(y0 / ystep) * ystep; y <= y1; y += ystep) {
    const cv::Point p = to_pixel(x0, y);
    cv::line(image, p, {plot.x + plot.width, p.y}, kGrey, 1);
    put_text(image, tick_text(y, ystep), {area.x + 5, p.y + 5}, 0.4);
  }
  for (double x = std::ceil(x0 / xstep) * xstep; x <= x1; x += xstep) {
    const cv::Point p = to_pixel(x, y0);
    cv::line(image, p, {p.x, p.y + 5}, kBlack, 1);
    put_text(image, tick_text(x, xstep), {p.x - 12, p.y + 20}, 0.4);
  }
  cv::rectangle(image, plot, kBlack, 1);
  put_text(image, x_label, {plot.x + plot.width / 2 - 30, plot.y + plot.height + 40}, 0.45);
  for (const auto& s : series) draw_band(image, s, to_pixel);
  for (const auto& s : series) draw_series(image, s, to_pixel);
  // Legend below the plot, one row per series.
  int row = plot.y + plot.height + 62;
  for (const auto& s : series) {
    cv::line(image, {plot.x, row - 4}, {plot.x + 30, row - 4}, s.colour, 2, cv::LINE_AA);
    put_text(image, s.label, {plot.x + 38, row}, 0.42);
    row += 18;
    if (row > area.y + area.height - 4) break;
  }
}

}  // namespace segdistill::plotting
