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
