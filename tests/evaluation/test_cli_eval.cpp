// eval and predict, run as a user runs them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "confusion_picture.hpp"
#include "data_test_support.hpp"
#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/data/image_io.hpp"
#include "segdistill/modeling/segmentor.hpp"
#include "toy_dataset.hpp"

using namespace segdistill;
using namespace segdistill_test;
namespace fs = std::filesystem;

namespace {

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// Predictions equal to the labels of a split, written as palette PNGs.
void write_perfect_predictions(const DataSplit& split, const fs::path& dir) {
  fs::create_directories(dir);
  for (std::size_t i = 0; i < split.dataset->size(); ++i)
    write_label_png((dir / (split.dataset->id(i) + ".png")).string(), split.dataset->load_label(i), voc_palette());
}

// A checkpoint of the config's [model] as built (untrained); returns its path.
std::string write_untrained_checkpoint(const std::string& config, const fs::path& file) {
  PluginLoader::instance().load_directory(SEGDISTILL_BUILD_PLUGIN_DIR_FOR_TESTS);
  auto model = std::make_shared<Segmentor>(Config::load(config).root().table("model"));
  Checkpoint checkpoint;
  checkpoint.groups["model"] = state_dict(*model);
  save_checkpoint(checkpoint, file.string());
  return file.string();
}

}  // namespace

TEST(CliEval, PerfectPredictionsScoreOneOnVocFormat) {
  TempDir dir;
  write_fixtures("voc", dir.path().string());
  const std::string config = dir.write("voc.toml", "_base_ = \"" + std::string(SEGDISTILL_SOURCE_DIR) +
                                                       "/configs/_base_/voc_data.toml\"\n[data.val]\nroot = \"" +
                                                       (dir.path() / "VOCdevkit/VOC2012").string() + "\"\n");
  write_perfect_predictions(split_from(Config::load(config).to_toml(), "val"), dir.path() / "preds");
  const auto r = run_segdistill(
      {"eval", config, "--pred-dir", (dir.path() / "preds").string(), "--json", (dir.path() / "report.json").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "mIoU 100.00  mAcc 100.00  aAcc 100.00")) << r.out;
  const auto report = read_json(dir.path() / "report.json");
  EXPECT_EQ(report["mIoU"].get<double>(), 1.0);
  // The val images are k = 3 and 4 of the fixture formula.
  std::vector<std::int64_t> counts(21, 0);
  for (int k : {3, 4}) {
    const cv::Mat label = voc_label(k);
    for (int y = 0; y < label.rows; ++y)
      for (int x = 0; x < label.cols; ++x)
        if (label.at<uchar>(y, x) != 255) ++counts[label.at<uchar>(y, x)];
  }
  for (std::size_t c = 0; c < 21; ++c) EXPECT_EQ(report["classes"][c]["gt_pixels"].get<std::int64_t>(), counts[c]) << c;
  EXPECT_EQ(report["classes"][20]["name"], "tvmonitor");
  EXPECT_EQ(report["split"], "data.val");
}

TEST(CliEval, PerfectPredictionsScoreOneOnCocoStuffFormat) {
  TempDir dir;
  write_fixtures("cocostuff", dir.path().string());
  const std::string config = dir.write("coco.toml", "_base_ = \"" + std::string(SEGDISTILL_SOURCE_DIR) +
                                                        "/configs/_base_/cocostuff10k_data.toml\"\n[data.val]\nroot = \"" +
                                                        (dir.path() / "cocostuff-10k-v1.1").string() + "\"\nsplit = \"all\"\n");
  write_perfect_predictions(split_from(Config::load(config).to_toml(), "val"), dir.path() / "preds");
  const auto r = run_segdistill(
      {"eval", config, "--pred-dir", (dir.path() / "preds").string(), "--json", (dir.path() / "report.json").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = read_json(dir.path() / "report.json");
  EXPECT_EQ(report["mIoU"].get<double>(), 1.0);
  std::vector<std::int64_t> counts(182, 0);
  for (int k : {0, 1, 2, 5})
    for (int y = 0; y < 36; ++y)
      for (int x = 0; x < 48; ++x)
        if (coco_s(x, y, k) > 0) ++counts[static_cast<std::size_t>(coco_s(x, y, k) - 1)];
  for (std::size_t c = 0; c < 182; ++c) ASSERT_EQ(report["classes"][c]["gt_pixels"].get<std::int64_t>(), counts[c]) << c;
}

TEST(CliEval, MissingOrWrongPredictionsAreNamed) {
  TempDir dir;
  write_fixtures("voc", dir.path().string());
  const std::string config = dir.write("voc.toml", "_base_ = \"" + std::string(SEGDISTILL_SOURCE_DIR) +
                                                       "/configs/_base_/voc_data.toml\"\n[data.val]\nroot = \"" +
                                                       (dir.path() / "VOCdevkit/VOC2012").string() + "\"\n");
  fs::create_directories(dir.path() / "preds");
  const auto missing = run_segdistill({"eval", config, "--pred-dir", (dir.path() / "preds").string()});
  EXPECT_EQ(missing.exit_code, 1);
  // Every prediction is missing: the first of the split is named, on every run, and the count.
  EXPECT_TRUE(contains(missing.err, "2008_000010.png: no prediction for sample '2008_000010' of data.val (")) << missing.err;
  EXPECT_TRUE(contains(missing.err, " are missing)")) << missing.err;
  const auto neither = run_segdistill({"eval", config});
  EXPECT_EQ(neither.exit_code, 1);
  EXPECT_TRUE(contains(neither.err, "give --checkpoint CKPT (run the model) or --pred-dir DIR")) << neither.err;
}

TEST(CliEval, CheckpointEvaluationSavesPredictionsAndPredictWritesMasks) {
  TempDir dir;
  toy::write_toy_dataset({(dir.path() / "toy").string(), 1, 4, 3, 64, 48});
  const std::string config =
      dir.write("toy.toml",
                "_base_ = \"" + std::string(SEGDISTILL_SOURCE_DIR) + "/configs/_base_/toy_data.toml\"\n" +
                    "[model]\nnum_classes = 6\nbackbone = {type = \"resnet18\", width = 0.25}\nhead = {type = \"deeplabv3plus\", "
                    "aspp_channels = 16, decoder_channels = 16, low_level_channels = 8}\n[data.val]\nroot = \"" +
                    (dir.path() / "toy").string() + "\"\n[eval]\nflip = true\n");
  const std::string ckpt = write_untrained_checkpoint(config, dir.path() / "model.ckpt");

  const auto r = run_segdistill({"eval", config, "--checkpoint", ckpt, "--json", (dir.path() / "r.json").string(), "--save-pred",
                                 (dir.path() / "pred").string(), "--save-overlay", (dir.path() / "overlay").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "background")) << r.out;
  EXPECT_TRUE(contains(r.out, "mIoU ")) << r.out;
  const auto report = read_json(dir.path() / "r.json");
  EXPECT_EQ(report["checkpoint"], ckpt);
  EXPECT_EQ(report["eval"]["flip"], true);
  EXPECT_EQ(report["samples"], 3);
  // The saved predictions score exactly what the run reported.
  const auto again = run_segdistill(
      {"eval", config, "--pred-dir", (dir.path() / "pred").string(), "--json", (dir.path() / "again.json").string()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(read_json(dir.path() / "again.json")["confusion_matrix"], report["confusion_matrix"]);
  EXPECT_TRUE(fs::exists(dir.path() / "overlay/toy_000004.png"));  // val is toy_000004..6

  const auto predicted = run_segdistill({"predict", config, "--checkpoint", ckpt, "--input",
                                         (dir.path() / "toy/JPEGImages").string(), "--output", (dir.path() / "masks").string()});
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  const cv::Mat mask = read_label_png((dir.path() / "masks/toy_000000.png").string());
  EXPECT_EQ(mask.size(), cv::Size(64, 48));
  EXPECT_TRUE(fs::exists(dir.path() / "masks/toy_000003_overlay.png"));
  // predict and eval agree on the same image.
  EXPECT_TRUE(same(read_label_png((dir.path() / "masks/toy_000005.png").string()),
                   read_label_png((dir.path() / "pred/toy_000005.png").string())));
}

TEST(CliEval, ConfusionMatrixPictureShowsWhereEachClassWent) {
  TempDir dir;
  toy::write_toy_dataset({(dir.path() / "toy").string(), 2, 2, 6, 64, 64});
  const std::string config = dir.write("toy.toml", "_base_ = \"" + std::string(SEGDISTILL_SOURCE_DIR) +
                                                       "/configs/_base_/toy_data.toml\"\n[data.val]\nroot = \"" +
                                                       (dir.path() / "toy").string() + "\"\n");
  // Predictions that are the labels, except that every disc (1) is called a square (2).
  const DataSplit split = split_from(Config::load(config).to_toml(), "val");
  fs::create_directories(dir.path() / "preds");
  int discs = 0, squares = 0;
  for (std::size_t i = 0; i < split.dataset->size(); ++i) {
    cv::Mat label = split.dataset->load_label(i).clone();
    discs += cv::countNonZero(label == 1);
    squares += cv::countNonZero(label == 2);
    label.setTo(2, label == 1);
    write_label_png((dir.path() / "preds" / (split.dataset->id(i) + ".png")).string(), label, voc_palette());
  }
  ASSERT_GT(discs, 0);
  ASSERT_GT(squares, 0);
  const std::string picture = (dir.path() / "confusion.png").string();
  const auto r = run_segdistill({"eval", config, "--pred-dir", (dir.path() / "preds").string(), "--confusion-matrix", picture});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const cv::Mat image = read_rgb_image(picture);
  const std::vector<std::string> names{"background", "disc", "square", "triangle", "ring", "cross"};
  const auto layout = segdistill::plotting::confusion_layout(names.size(), names);
  // The colour at the centre-left of cell (label row, predicted column), away from its number.
  auto cell = [&](int row, int column) {
    return image.at<cv::Vec3b>(layout.top + row * layout.cell + 3, layout.left + column * layout.cell + 3);
  };
  const cv::Vec3b white(255, 255, 255);
  EXPECT_NE(cell(1, 2), white) << "disc -> square is all of the disc row";
  EXPECT_EQ(cell(1, 1), white) << "no disc pixel is called a disc";
  EXPECT_NE(cell(2, 2), white);
  EXPECT_EQ(cell(2, 1), white);
  EXPECT_NE(cell(0, 0), white);
  // Full shares are the darkest blue; the colour of a cell grows with its share.
  EXPECT_EQ(cell(1, 2), cell(0, 0));
  const auto bad = run_segdistill({"eval", config, "--pred-dir", (dir.path() / "preds").string(), "--confusion-matrix",
                                   (dir.path() / "confusion.jpg").string()});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(contains(bad.err, "expected a .png file name")) << bad.err;
}

TEST(CliEval, DeviceIsCheckedBeforeAnyWork) {
  TempDir dir;
  toy::write_toy_dataset({(dir.path() / "toy").string(), 3, 1, 1, 32, 32});
  const std::string config = dir.write("toy.toml", "_base_ = \"" + std::string(SEGDISTILL_SOURCE_DIR) +
                                                       "/configs/_base_/toy_data.toml\"\n[model]\nnum_classes = 6\n"
                                                       "backbone = {type = \"resnet18\", width = 0.0625}\n"
                                                       "head = {type = \"fcn\", channels = 8}\n[data.val]\nroot = \"" +
                                                       (dir.path() / "toy").string() + "\"\n");
  const std::string ckpt = write_untrained_checkpoint(config, dir.path() / "model.ckpt");
  const auto cpu = run_segdistill({"eval", config, "--checkpoint", ckpt, "--device", "cpu"});
  EXPECT_EQ(cpu.exit_code, 0) << cpu.err;
  for (const char* command : {"eval", "predict"}) {
    std::vector<std::string> args{command, config, "--checkpoint", ckpt, "--device", "gpu"};
    if (std::string(command) == "predict")
      args.insert(args.end(), {"--input", (dir.path() / "toy/JPEGImages").string(), "--output", (dir.path() / "out").string()});
    const auto wrong = run_segdistill(args);
    EXPECT_NE(wrong.exit_code, 0) << command;
    EXPECT_TRUE(contains(wrong.err, "--device: invalid device 'gpu'; valid: auto, cpu, cuda, cuda:N")) << wrong.err;
    if (!torch::cuda::is_available()) {
      args[5] = "cuda";
      const auto absent = run_segdistill(args);
      EXPECT_NE(absent.exit_code, 0) << command;
      EXPECT_TRUE(contains(absent.err, "--device cuda: this LibTorch has no CUDA device available (use --device cpu)"))
          << absent.err;
    }
  }
  EXPECT_FALSE(fs::exists(dir.path() / "out")) << "predict wrote before checking the device";
}
