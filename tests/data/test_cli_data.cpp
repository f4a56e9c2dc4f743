// make-toy-dataset and data check / show, run as a user runs them.
#include <gtest/gtest.h>

#include <filesystem>

#include "test_support.hpp"

using segdistill_test::contains;
using segdistill_test::run_segdistill;
using segdistill_test::TempDir;
namespace fs = std::filesystem;

namespace {

std::string toy_config(const TempDir& dir) {
  return dir.write("toy.toml", "_base_ = \"" + std::string(SEGDISTILL_SOURCE_DIR) +
                                   "/configs/_base_/toy_data.toml\"\n[data.train]\nroot = \"" + (dir.path() / "toy").string() +
                                   "\"\n[data.val]\nroot = \"" + (dir.path() / "toy").string() + "\"\n");
}

}  // namespace

TEST(CliData, ToyDataSetCheckAndShow) {
  TempDir dir;
  const auto made = run_segdistill({"make-toy-dataset", "--output", (dir.path() / "toy").string(), "--train", "12", "--val", "4",
                                    "--size", "64", "--seed", "3"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_TRUE(contains(made.out, "wrote 12 training and 4 validation images (64x64")) << made.out;
  EXPECT_TRUE(fs::exists(dir.path() / "toy/SegmentationClass/toy_000015.png"));

  const std::string config = toy_config(dir);
  const auto check = run_segdistill({"data", "check", config, "--split", "val"});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_TRUE(contains(check.out, "data.val: 4 samples listed, 4 readable, 0 bad")) << check.out;
  EXPECT_TRUE(contains(check.out, "image size: 64x64 to 64x64")) << check.out;
  EXPECT_TRUE(contains(check.out, "background")) << check.out;
  EXPECT_TRUE(contains(check.out, "(ignore)")) << check.out;

  const auto show =
      run_segdistill({"data", "show", config, "--split", "train", "--count", "3", "--output", (dir.path() / "show").string()});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  for (const char* file : {"toy_000000_image.png", "toy_000000_overlay.png", "toy_000002_overlay.png"})
    EXPECT_TRUE(fs::exists(dir.path() / "show" / file)) << file;
}

TEST(CliData, CheckListsEveryBadSampleAndFails) {
  TempDir dir;
  ASSERT_EQ(run_segdistill(
                {"make-toy-dataset", "--output", (dir.path() / "toy").string(), "--train", "6", "--val", "2", "--size", "48"})
                .exit_code,
            0);
  fs::remove(dir.path() / "toy/SegmentationClass/toy_000001.png");
  fs::remove(dir.path() / "toy/JPEGImages/toy_000004.jpg");
  const auto check = run_segdistill({"data", "check", toy_config(dir)});
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_TRUE(contains(check.out, "data.train: 6 samples listed, 4 readable, 2 bad")) << check.out;
  EXPECT_TRUE(contains(check.out, "toy_000001: ")) << check.out;
  EXPECT_TRUE(contains(check.out, "toy_000001.png: label not found")) << check.out;
  EXPECT_TRUE(contains(check.out, "toy_000004.jpg: image not found")) << check.out;
  const auto missing = run_segdistill({"data", "check", toy_config(dir), "--split", "test"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "no [data.test] split is configured (configured: train, val)")) << missing.err;
}

// The published class weights: 1 / ln(1.02 + f_c) of the label counts in [0, classes) over
// the split as its pipeline makes it, checked against Python reading the label PNGs with PIL.
TEST(CliData, ClassWeightsAreThePublishedOnesAndServeAsABase) {
  TempDir dir;
  ASSERT_EQ(run_segdistill({"make-toy-dataset", "--output", (dir.path() / "toy").string(), "--train", "10", "--val", "2",
                            "--size", "48", "--seed", "5"})
                .exit_code,
            0);
  const std::string config = toy_config(dir);
  const std::string plain = (dir.path() / "weights.toml").string();
  const auto computed =
      run_segdistill({"data", "class-weights", config, "--set", "data.train.pipeline=[{type=\"normalize\"}]", "--output", plain});
  ASSERT_EQ(computed.exit_code, 0) << computed.err;
  EXPECT_TRUE(contains(computed.out, "class_weights = [")) << computed.out;
  EXPECT_TRUE(contains(computed.out, "disc")) << computed.out;

  const std::string script = dir.write("weights.py", R"(import sys, tomllib
import numpy as np
from PIL import Image
root, written = sys.argv[1], sys.argv[2]
ids = open(root + "/ImageSets/Segmentation/train.txt").read().split()
counts = np.zeros(6, np.int64)
for i in ids:
    y = np.asarray(Image.open(root + "/SegmentationClass/" + i + ".png"))
    counts += np.bincount(y[y < 6].astype(np.int64), minlength=6)
expected = 1 / np.log(1.02 + counts / counts.sum())
ours = np.array(tomllib.load(open(written, "rb"))["train"]["loss"]["class_weights"])
assert np.allclose(ours, expected, rtol=1e-12, atol=0), (ours, expected)
print("ok")
)");
  const auto python = segdistill_test::run_program("/usr/bin/python3", {script, (dir.path() / "toy").string(), plain});
  EXPECT_EQ(python.exit_code, 0) << python.out << python.err;

  // The file is a config to inherit: the loss takes the weights, for focal as for CE.
  const std::string training =
      dir.write("train.toml", "_base_ = [\"" + config + "\", \"" + plain +
                                  "\"]\n[model]\nnum_classes = 6\n"
                                  "backbone = {type = \"resnet18\", width = 0.125}\n"
                                  "head = {type = \"fcn\"}\n[train]\niterations = 1\noptimizer = {lr = 0.01}\n"
                                  "loss = {type = \"focal\"}\n");
  const auto shown = run_segdistill({"config", "show", training});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_TRUE(contains(shown.out, "class_weights")) << shown.out;
  EXPECT_TRUE(contains(shown.out, "focal")) << shown.out;
  EXPECT_EQ(run_segdistill({"config", "check", training}).exit_code, 0);

  // With the random crops, the weights follow the seed, and the same seed gives the same.
  const auto seeded = [&](const std::string& seed) {
    return run_segdistill({"data", "class-weights", config, "--seed", seed}).out;
  };
  EXPECT_EQ(seeded("1"), seeded("1"));
  EXPECT_NE(seeded("1"), seeded("2"));

  // It never writes over the config it reads.
  const auto over = run_segdistill({"data", "class-weights", config, "--output", config});
  EXPECT_NE(over.exit_code, 0);
  EXPECT_TRUE(contains(over.err, "--output")) << over.err;
}

// `data check` and `data show` on Cityscapes files written by PIL (the official layout).
TEST(CliData, CityscapesCheckAndShow) {
  TempDir dir;
  const std::string command = "/usr/bin/python3 " + std::string(SEGDISTILL_SOURCE_DIR) +
                              "/tests/python/write_data_fixtures.py cityscapes '" + dir.path().string() + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const std::string config =
      dir.write("cityscapes.toml", "[data]\nnum_classes = 19\n[data.train]\ntype = \"cityscapes\"\nroot = \"" +
                                       (dir.path() / "cityscapes").string() + "\"\npipeline = [{type = \"normalize\"}]\n");
  const auto check = run_segdistill({"data", "check", config});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_TRUE(contains(check.out, "data.train: 3 samples listed, 3 readable, 0 bad")) << check.out;
  EXPECT_TRUE(contains(check.out, "road")) << check.out;
  EXPECT_TRUE(contains(check.out, "bicycle")) << check.out;
  const auto show = run_segdistill({"data", "show", config, "--count", "2", "--output", (dir.path() / "show").string()});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_TRUE(fs::exists(dir.path() / "show")) << show.out;
  std::size_t overlays = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir.path() / "show"))
    overlays += entry.path().filename().string().find("_overlay.png") != std::string::npos;
  EXPECT_EQ(overlays, 2u) << show.out;
}

// `data check` and `data show` on the CIRKD toolbox's other data sets (files by PIL).
TEST(CliData, ToolboxDatasetsCheckAndShow) {
  TempDir dir;
  struct Case {
    const char* fixture;
    std::string dataset;  // the [data.train] table's lines
    int classes;
    const char* first_class;
  };
  const std::string root = dir.path().string();
  const std::vector<Case> cases{
      {"camvid", "type = \"camvid\"\nroot = \"" + root + "/camvid\"\n", 11, "sky"},
      {"ade20k", "type = \"ade20k\"\nroot = \"" + root + "/ADEChallengeData2016\"\n", 150, "wall"},
      {"cocostuff164k", "type = \"cocostuff164k\"\nroot = \"" + root + "/cocostuff164k\"\n", 182, "person"},
  };
  for (const auto& c : cases) {
    const std::string command = "/usr/bin/python3 " + std::string(SEGDISTILL_SOURCE_DIR) +
                                "/tests/python/write_data_fixtures.py " + c.fixture + " '" + root + "'";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    const std::string config =
        dir.write(std::string(c.fixture) + ".toml", "[data]\nnum_classes = " + std::to_string(c.classes) + "\n[data.train]\n" +
                                                        c.dataset + "pipeline = [{type = \"normalize\"}]\n");
    const auto check = run_segdistill({"data", "check", config});
    ASSERT_EQ(check.exit_code, 0) << c.fixture << check.err;
    EXPECT_TRUE(contains(check.out, "data.train: 2 samples listed, 2 readable, 0 bad")) << check.out;
    EXPECT_TRUE(contains(check.out, c.first_class)) << check.out;
    const fs::path show = dir.path() / (std::string("show_") + c.fixture);
    const auto shown = run_segdistill({"data", "show", config, "--count", "2", "--output", show.string()});
    ASSERT_EQ(shown.exit_code, 0) << shown.err;
    std::size_t overlays = 0;
    for (const auto& entry : fs::recursive_directory_iterator(show))
      overlays += entry.path().filename().string().find("_overlay.png") != std::string::npos;
    EXPECT_EQ(overlays, 2u) << c.fixture << shown.out;
  }
}
