// The CIRKD toolbox's evaluation protocol, end to end: a checkpoint in its layout (written
// by the independent PyTorch model with random weights) imported, `eval` of the shipped
// Cityscapes recipe on PIL-written Cityscapes files (the toolbox's BGR mean subtraction,
// the whole image at its own size, logits resized with align_corners, argmax), against
// tests/python/cirkd_networks_reference.py's own run of the protocol and its numpy/torch
// version of the toolbox's metric (utils/score.py: the mean over all 19 classes).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "data_test_support.hpp"
#include "segdistill/data/image_io.hpp"
#include "tolerance.hpp"

using namespace segdistill;
using namespace segdistill_test;
namespace fs = std::filesystem;

TEST(ToolboxEval, CityscapesRecipeMatchesTheToolboxProtocolAndMetric) {
  TempDir dir;
  const std::string root = dir.path().string();
  write_fixtures("cityscapes", root);
  const std::string script =
      "/usr/bin/python3 " + std::string(SEGDISTILL_SOURCE_DIR) + "/tests/python/cirkd_networks_reference.py";
  const std::string network = "deeplabv3_resnet18";
  ASSERT_EQ(std::system((script + " make --network " + network + " --out " + root).c_str()), 0);

  // The shipped recipe, its val split pointed at the fixture's three train images.
  const std::string recipe = std::string(SEGDISTILL_SOURCE_DIR) + "/configs/cirkd/cityscapes/deeplabv3_r18.toml";
  const std::string config =
      dir.write("eval.toml", "_base_ = \"" + recipe + "\"\n[data.val]\nroot = \"" + root +
                                 "/cityscapes\"\nsplit = \"train\"\n[data.train]\nroot = \"" + root + "/cityscapes\"\n");
  const std::string ckpt = root + "/imported.ckpt";
  const auto imported = run_segdistill({"import-checkpoint", config, "--from", root + "/checkpoint.pth", "--output", ckpt});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  const auto evaluated =
      run_segdistill({"eval", config, "--checkpoint", ckpt, "--save-pred", root + "/pred", "--json", root + "/report.json"});
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;

  // The reference's run on the same images, in the data set's order.
  const std::vector<std::string> ids{"aachen/aachen_000000_000019", "aachen/aachen_000001_000019", "bochum/bochum_000000_000313"};
  std::string files;
  for (const auto& id : ids) {
    const std::string city = id.substr(0, id.find('/')), name = id.substr(id.find('/') + 1);
    files += " " + root + "/cityscapes/leftImg8bit/train/" + city + "/" + name + "_leftImg8bit.png " + root +
             "/cityscapes/expected/train/" + id + ".png";
  }
  fs::create_directories(dir.path() / "reference");
  ASSERT_EQ(std::system((script + " evaluate --network " + network + " --checkpoint " + root + "/checkpoint.pth --out " + root +
                         "/reference" + files)
                            .c_str()),
            0);

  // The same predictions: float32 on both sides, the same kernels; a pixel may flip only
  // where two classes' logits tie within rounding.
  std::int64_t pixels = 0, agree = 0;
  std::set<int> classes;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const cv::Mat ours = read_label_png(root + "/pred/" + ids[i] + ".png");
    const cv::Mat theirs = read_label_png(root + "/reference/" + std::to_string(i) + ".png");
    ASSERT_EQ(ours.size(), theirs.size()) << ids[i];
    for (int y = 0; y < ours.rows; ++y)
      for (int x = 0; x < ours.cols; ++x) {
        agree += ours.at<uchar>(y, x) == theirs.at<uchar>(y, x);
        classes.insert(ours.at<uchar>(y, x));
        ++pixels;
      }
  }
  EXPECT_GE(classes.size(), 2u);  // random weights still predict several classes
  EXPECT_TRUE(within("share of pixels predicted otherwise than the toolbox protocol",
                     1.0 - static_cast<double>(agree) / static_cast<double>(pixels), 1e-3));

  std::ifstream report_in(root + "/report.json"), expected_in(root + "/reference/expected.json");
  const auto report = nlohmann::json::parse(report_in);
  const auto expected = nlohmann::json::parse(expected_in);
  EXPECT_EQ(report["eval"]["mean_over"], "all");
  EXPECT_EQ(report["samples"], 3);
  EXPECT_TRUE(within("eval mIoU vs the toolbox's metric on its predictions (absolute)",
                     std::abs(report["mIoU"].get<double>() - expected["mIoU"].get<double>()), 1e-6))
      << report["mIoU"] << " vs " << expected["mIoU"];
}
