// The demo's picture tool (tools/demo): the grid shows the files it names, in the VOC
// palette, with a class legend; the curves come from metrics.jsonl; bad inputs are named.
#include <gtest/gtest.h>

#include <filesystem>

#include "segdistill/data/image_io.hpp"
#include "test_support.hpp"
#include "toy_dataset.hpp"

using segdistill_test::contains;
using segdistill_test::run_program;
using segdistill_test::TempDir;
namespace fs = std::filesystem;

namespace {

TEST(DemoFigures, GridTilesAreTheImagesLabelsAndPredictions) {
  TempDir dir;
  const std::string data = (dir.path() / "toy").string();
  segdistill::toy::write_toy_dataset({data, 5, 2, 2, 40, 40});
  // "Predictions" that are the labels themselves: their tiles must equal the label tiles.
  fs::create_directories(dir.path() / "pred");
  for (const auto& id : {"toy_000002", "toy_000003"})
    fs::copy_file(data + "/SegmentationClass/" + id + ".png", dir.path() / "pred" / (std::string(id) + ".png"));
  const std::string out = (dir.path() / "grid.png").string();
  const auto r = run_program(SEGDISTILL_DEMO_FIGURES, {"grid", "--data", data, "--count", "2", "--cell", "40", "--run",
                                                       "copy=" + (dir.path() / "pred").string(), "--output", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const cv::Mat grid = segdistill::read_rgb_image(out);
  // Three columns of 40 + 4 pixels; a 30-pixel header, two rows of 44, a 28-pixel legend.
  ASSERT_EQ(grid.cols, 3 * 44);
  ASSERT_EQ(grid.rows, 30 + 2 * 44 + 28);
  for (int row = 0; row < 2; ++row) {
    const cv::Rect label(44, 30 + row * 44, 40, 40), copy(88, 30 + row * 44, 40, 40);
    EXPECT_EQ(cv::norm(grid(label), grid(copy), cv::NORM_INF), 0.0) << "row " << row;
  }
  // The label tile of the first val image, scaled 1:1, is its label in VOC colours.
  const cv::Mat label = segdistill::read_label_png(data + "/SegmentationClass/toy_000002.png");
  const cv::Vec3b voc[6] = {{0, 0, 0}, {128, 0, 0}, {0, 128, 0}, {128, 128, 0}, {0, 0, 128}, {128, 0, 128}};
  for (int y = 0; y < 40; y += 7)
    for (int x = 0; x < 40; x += 7) {
      const int c = label.at<std::uint8_t>(y, x);
      if (c < 6) {
        EXPECT_EQ(grid.at<cv::Vec3b>(30 + y, 44 + x), voc[c]) << y << "," << x;
      }
    }
  // The legend's "disc" swatch is VOC colour 1.
  const int legend_top = 30 + 2 * 44;
  bool found_disc = false;
  for (int x = 0; x < grid.cols && !found_disc; ++x) found_disc = grid.at<cv::Vec3b>(legend_top + 12, x) == voc[1];
  EXPECT_TRUE(found_disc);
}

TEST(DemoFigures, CurvesReadMetricsAndNameWhatIsMissing) {
  TempDir dir;
  dir.write("run/metrics.jsonl",
            "{\"type\":\"train\",\"iter\":10,\"loss\":1.5,\"loss_ce\":1.0,\"loss_tat_patch_group\":0.5,\"lr\":0.1}\n"
            "{\"type\":\"train\",\"iter\":20,\"loss\":0.9,\"loss_ce\":0.6,\"loss_tat_patch_group\":0.3,\"lr\":0.1}\n"
            "{\"type\":\"val\",\"iter\":10,\"mIoU\":0.3}\n{\"type\":\"val\",\"iter\":20,\"mIoU\":0.5}\n");
  const std::string out = (dir.path() / "curves.png").string();
  const auto ok =
      run_program(SEGDISTILL_DEMO_FIGURES, {"curves", "--run", "a=" + (dir.path() / "run").string(), "--output", out});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const cv::Mat image = segdistill::read_rgb_image(out);
  EXPECT_EQ(image.cols, 1500);
  EXPECT_EQ(image.rows, 560);
  // Each of the three panels drew something besides black, grey and white (a series).
  for (int panel = 0; panel < 3; ++panel) {
    const cv::Mat area = image(cv::Rect(panel * 500 + 60, 35, 420, 375));
    int coloured = 0;
    for (auto it = area.begin<cv::Vec3b>(); it != area.end<cv::Vec3b>(); ++it)
      coloured += (std::max({(*it)[0], (*it)[1], (*it)[2]}) - std::min({(*it)[0], (*it)[1], (*it)[2]})) > 60;
    EXPECT_GT(coloured, 50) << "panel " << panel;
  }
  const auto missing =
      run_program(SEGDISTILL_DEMO_FIGURES, {"curves", "--run", "a=" + (dir.path() / "nothing").string(), "--output", out});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "nothing/metrics.jsonl: cannot read")) << missing.err;
  dir.write("bad/metrics.jsonl", "{\"type\":\"train\"}\nnot json\n");
  const auto bad =
      run_program(SEGDISTILL_DEMO_FIGURES, {"curves", "--run", "a=" + (dir.path() / "bad").string(), "--output", out});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.err, "bad/metrics.jsonl:2: not JSON")) << bad.err;
}

}  // namespace
