// The demo's pictures: the grid (tools/demo) shows the files it names, in the VOC palette,
// with a class legend; the curves (`segdistill plot`) come from metrics.jsonl, one panel
// per metric, seeds as a mean with a band; bad inputs are named.
#include <gtest/gtest.h>
#include <cmath>

#include <filesystem>

#include "segdistill/data/image_io.hpp"
#include "test_support.hpp"
#include "tolerance.hpp"
#include "toy_dataset.hpp"

using segdistill_test::contains;
using segdistill_test::run_program;
using segdistill_test::run_segdistill;
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
  // Three columns of 40 + 4 pixels; a 30-pixel header, two rows of 44, a legend that wraps
  // in 132 pixels to six rows of 28 (background | disc | square | triangle | ring | cross).
  ASSERT_EQ(grid.cols, 3 * 44);
  ASSERT_EQ(grid.rows, 30 + 2 * 44 + 6 * 28);
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
  // The legend's "disc" swatch, on its second row, is VOC colour 1.
  const int legend_top = 30 + 2 * 44 + 28;
  bool found_disc = false;
  for (int x = 0; x < grid.cols && !found_disc; ++x) found_disc = grid.at<cv::Vec3b>(legend_top + 12, x) == voc[1];
  EXPECT_TRUE(found_disc);
}

TEST(Plot, CurvesReadMetricsAndNameWhatIsMissing) {
  TempDir dir;
  dir.write("run/metrics.jsonl",
            "{\"type\":\"train\",\"iter\":10,\"loss\":1.5,\"loss_ce\":1.0,\"loss_tat_patch_group\":0.5,\"lr\":0.1}\n"
            "{\"type\":\"train\",\"iter\":20,\"loss\":0.9,\"loss_ce\":0.6,\"loss_tat_patch_group\":0.3,\"lr\":0.1}\n"
            "{\"type\":\"val\",\"iter\":10,\"mIoU\":0.3}\n{\"type\":\"val\",\"iter\":20,\"mIoU\":0.5}\n");
  const std::string out = (dir.path() / "curves.png").string();
  const auto ok = run_segdistill({"plot", "a=" + (dir.path() / "run").string(), "--output", out});
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
  const auto missing = run_segdistill({"plot", "a=" + (dir.path() / "nothing").string(), "--output", out});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "nothing/metrics.jsonl: metrics file not found (is it a segdistill work dir?)"))
      << missing.err;
  dir.write("bad/metrics.jsonl", "{\"type\":\"train\"}\nnot json\n");
  const auto bad = run_segdistill({"plot", "a=" + (dir.path() / "bad").string(), "--output", out});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.err, "bad/metrics.jsonl:2: not JSON")) << bad.err;
  // Chosen metrics: one panel each, three to a row; a bare work dir is labelled by its name.
  const auto chosen =
      run_segdistill({"plot", (dir.path() / "run").string(), "--metrics", "lr,loss,mIoU,loss_tat_patch_group", "--output", out});
  ASSERT_EQ(chosen.exit_code, 0) << chosen.err;
  const cv::Mat four = segdistill::read_rgb_image(out);
  EXPECT_EQ(four.cols, 1500);
  EXPECT_EQ(four.rows, 2 * 560);
  // The fourth panel (second row) holds the TaT term's line.
  const cv::Mat fourth = four(cv::Rect(60, 560 + 35, 420, 375));
  int coloured = 0;
  for (auto it = fourth.begin<cv::Vec3b>(); it != fourth.end<cv::Vec3b>(); ++it)
    coloured += (std::max({(*it)[0], (*it)[1], (*it)[2]}) - std::min({(*it)[0], (*it)[1], (*it)[2]})) > 60;
  EXPECT_GT(coloured, 50);
  // A metric no run logged: named, with the keys the runs have.
  const auto typo = run_segdistill({"plot", (dir.path() / "run").string(), "--metrics", "miou", "--output", out});
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_TRUE(contains(typo.err,
                       "--metrics miou: no run logged it (validation: mIoU; training: loss, loss_ce, "
                       "loss_tat_patch_group, lr;"))
      << typo.err;
}

// A finished run as the table reads it: the eval report `segdistill eval --json` writes,
// and six validations in metrics.jsonl, rising to `miou` with the last step `last_step`.
void write_run(const TempDir& dir, const std::string& run, double miou, double seconds, double last_step = 0.005) {
  dir.write(run + "/eval.json", "{\"mIoU\": " + std::to_string(miou) + ", \"samples\": 60, \"seconds\": " +
                                    std::to_string(seconds) + ", \"parameters\": 66466, \"aAcc\": 0.9}");
  std::string metrics;
  for (int i = 1; i <= 6; ++i)
    metrics += "{\"type\":\"val\",\"iter\":" + std::to_string(100 * i) +
               ",\"mIoU\":" + std::to_string(i == 6 ? miou : miou - last_step - 0.05 * (5 - i)) + "}\n";
  dir.write(run + "/metrics.jsonl", metrics);
}

std::string runs_of(const TempDir& dir, const std::string& name, int seeds) {
  std::string out = name + "=";
  for (int s = 0; s < seeds; ++s) out += (s ? "," : "") + (dir.path() / (name + std::to_string(s))).string();
  return out;
}

TEST(DemoFigures, TableReadsEachRunsReportAndValidationsAndComparesSeedBySeed) {
  TempDir dir;
  write_run(dir, "teacher0", 0.8093, 1.0);
  const double student[] = {0.70, 0.72, 0.74}, tat[] = {0.75, 0.76, 0.78}, kd[] = {0.73, 0.74, 0.79};
  for (int s = 0; s < 3; ++s) {
    write_run(dir, "student" + std::to_string(s), student[s], 0.5);
    write_run(dir, "tat" + std::to_string(s), tat[s], 0.6, s == 2 ? 0.02 : 0.005);
    write_run(dir, "kd" + std::to_string(s), kd[s], 0.5);
  }
  std::vector<std::string> args{"table",
                                "--baseline",
                                "student",
                                "--headline",
                                "tat",
                                "--seed-labels",
                                "0,1,2",
                                "--speed",
                                "student=" + (dir.path() / "student0/eval.json").string(),
                                "--run",
                                runs_of(dir, "teacher", 1),
                                "--run",
                                runs_of(dir, "student", 3),
                                "--run",
                                runs_of(dir, "tat", 3),
                                "--run",
                                runs_of(dir, "kd", 3)};
  const auto r = run_program(SEGDISTILL_DEMO_FIGURES, args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "student         72.00 +- 2.00     70.00    72.00    74.00    66466       3 of 3")) << r.out;
  EXPECT_TRUE(contains(r.out, "80.93")) << r.out;  // the teacher's single run
  // tat seed 2's last two validations are 2 points apart (write_run: 0.02 of mIoU).
  EXPECT_TRUE(
      contains(r.out, "  tat seed 2: last two validations 76.00 (iteration 500) and 78.00 (iteration 600): 2.00 points apart"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "student 120.0 images/s")) << r.out;  // 60 samples / 0.5 s
  EXPECT_TRUE(contains(r.out, "beats student by 4.33 [+2.90, +5.77]")) << r.out;
  EXPECT_TRUE(contains(r.out, "no difference shown: +3.33 [-0.46, +7.13]")) << r.out;
  EXPECT_TRUE(contains(r.out, "headline (tat against student, mIoU points, 95% t-interval over 3 seeds): beats student by 4.33"))
      << r.out;

  // A missing report or metrics file names the file.
  const auto missing = run_program(SEGDISTILL_DEMO_FIGURES, {"table", "--run", "x=" + (dir.path() / "none").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "none/eval.json: cannot read")) << missing.err;
  fs::remove(dir.path() / "kd1/metrics.jsonl");
  const auto no_metrics = run_program(SEGDISTILL_DEMO_FIGURES, {"table", "--run", runs_of(dir, "kd", 3)});
  EXPECT_EQ(no_metrics.exit_code, 1);
  EXPECT_TRUE(contains(no_metrics.err, "kd1/metrics.jsonl: cannot read")) << no_metrics.err;
}

TEST(Plot, CurvesOfSeveralSeedsDrawTheMeanWithABand) {
  TempDir dir;
  // Three seeds whose val mIoU at iteration 20 is 0.2, 0.4, 0.6: mean 0.4, band 0.2 .. 0.6.
  for (int s = 0; s < 3; ++s)
    dir.write("run" + std::to_string(s) + "/metrics.jsonl",
              "{\"type\":\"train\",\"iter\":10,\"loss_ce\":1.0}\n{\"type\":\"train\",\"iter\":20,\"loss_ce\":0.5}\n"
              "{\"type\":\"val\",\"iter\":10,\"mIoU\":0.1}\n{\"type\":\"val\",\"iter\":20,\"mIoU\":" +
                  std::to_string(0.2 * (s + 1)) + "}\n");
  const std::string out = (dir.path() / "curves.png").string();
  const auto r = run_segdistill({"plot", runs_of(dir, "run", 3), "--output", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const cv::Mat image = segdistill::read_rgb_image(out);
  // In the mIoU panel, the right edge's column (iteration 20) holds the band: a faded
  // colour spanning from the lowest to the highest seed, the mean line in full colour.
  const cv::Mat panel = image(cv::Rect(1060, 35, 420, 375));
  const int x = panel.cols - 3;
  int faded_top = -1, faded_bottom = -1, line = -1;
  for (int y = 0; y < panel.rows; ++y) {
    const cv::Vec3b p = panel.at<cv::Vec3b>(y, x);
    const int chroma = std::max({p[0], p[1], p[2]}) - std::min({p[0], p[1], p[2]});
    if (chroma > 25 && chroma < 90 && std::min({p[0], p[1], p[2]}) > 120) {
      if (faded_top < 0) faded_top = y;
      faded_bottom = y;
    }
    if (chroma >= 90) line = y;
  }
  ASSERT_GE(faded_top, 0) << "no band";
  ASSERT_GE(line, 0) << "no mean line";
  // y axis from 0 to 60 * 1.05: the band covers 20 .. 60, the mean sits at 40.
  const double per_point = 375.0 / 63.0;
  EXPECT_TRUE(segdistill_test::within("faded_bottom - faded_top vs 40 * per_point",
                                      std::abs((faded_bottom - faded_top) - (40 * per_point)), 12));
  EXPECT_TRUE(segdistill_test::within("line vs 375 - 40 * per_point", std::abs((line) - (375 - 40 * per_point)), 10));
  // The legend names the number of seeds.
  const auto one = run_segdistill({"plot", "solo=" + (dir.path() / "run0").string(), "--output", out});
  EXPECT_EQ(one.exit_code, 0) << one.err;
}

}  // namespace
