// Data and config files as an attacker or a careless user makes them: sizes are checked
// before decoding, bad samples are named and follow on_bad_sample, configs are bounded
// before parsing, and outputs never replace inputs.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include <filesystem>
#include <functional>

#include "../fuzz/fuzz_support.hpp"
#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/checkpoint/pytorch_checkpoint.hpp"
#include "segdistill/config/config.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/untrusted_file.hpp"
#include "segdistill/data/dataset.hpp"
#include "segdistill/data/image_io.hpp"
#include "segdistill/data/split_list.hpp"
#include "segdistill/evaluation/output_paths.hpp"
#include "test_support.hpp"

using segdistill_test::contains;
using segdistill_test::read_file;
using segdistill_test::run_program;
using segdistill_test::run_segdistill;
using segdistill_test::TempDir;
namespace fs = std::filesystem;

namespace {

class HostileInputs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    const auto made = run_segdistill({"make-toy-dataset", "--output", toy(), "--train", "4", "--val", "3", "--size", "40"});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    const auto written = run_program("/usr/bin/python3",
                                     {std::string(SEGDISTILL_SOURCE_DIR) + "/tests/python/write_hostile_data.py", hostile("")});
    ASSERT_EQ(written.exit_code, 0) << written.out << written.err;
    config_ = config("run", "");
    const auto trained = run_segdistill({"--threads", "1", "train", config_, "--work-dir", (dir_->path() / "run").string()});
    ASSERT_EQ(trained.exit_code, 0) << trained.err;
    checkpoint_ = (dir_->path() / "run/checkpoints/latest").string();
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string toy() { return (dir_->path() / "toy").string(); }
  static std::string hostile(const std::string& name) { return (dir_->path() / "hostile" / name).string(); }
  static std::string config(const std::string& name, const std::string& extra) {
    return dir_->write(name + ".toml", "_base_ = \"" + std::string(SEGDISTILL_SOURCE_DIR) + "/configs/_base_/toy_data.toml\"\n" +
                                           "[data.train]\nroot = \"" + toy() + "\"\npipeline = [{type = \"normalize\"}]\n" +
                                           "[data.val]\nroot = \"" + toy() + "\"\n" + extra +
                                           "[model]\nnum_classes = 6\nbackbone = {type = \"resnet18\", width = 0.125}\n"
                                           "head = {type = \"deeplabv3plus\", aspp_channels = 8, low_level_channels = 8, "
                                           "decoder_channels = 8}\n[train]\niterations = 1\nbatch_size = 2\nworkers = 1\n"
                                           "optimizer = {lr = 0.01}\n");
  }
  // A copy of the toy data set with `file` replaced by the hostile `replacement`.
  static std::string toy_with(const std::string& name, const std::string& file, const std::string& replacement) {
    const fs::path root = dir_->path() / name;
    fs::copy(toy(), root, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    fs::copy_file(hostile(replacement), root / file, fs::copy_options::overwrite_existing);
    return root.string();
  }
  static std::string config_on(const std::string& name, const std::string& root, const std::string& extra = "") {
    std::string text = read_file(config_);
    for (std::size_t at = text.find(toy() + "\""); at != std::string::npos; at = text.find(toy() + "\"", at))
      text.replace(at, toy().size(), root);
    return dir_->write(name + ".toml", text + extra);
  }

  static TempDir* dir_;
  static std::string config_, checkpoint_;
};
TempDir* HostileInputs::dir_ = nullptr;
std::string HostileInputs::config_, HostileInputs::checkpoint_;

}  // namespace

TEST_F(HostileInputs, AJpegDeclaringHugeDimensionsIsABadSampleNotAnAbort) {
  const std::string root = toy_with("huge_jpeg", "JPEGImages/toy_000005.jpg", "huge_header.jpg");
  const std::string file = root + "/JPEGImages/toy_000005.jpg";
  const std::string cfg = config_on("huge_jpeg", root);
  const auto check = run_segdistill({"data", "check", cfg, "--split", "val"});
  EXPECT_EQ(check.exit_code, 1) << check.err;  // 134 was `terminate called ... cv::Exception`
  EXPECT_TRUE(contains(check.out, "data.val: 3 samples listed, 2 readable, 1 bad")) << check.out;
  EXPECT_TRUE(contains(check.out, file + ": the image declares 65500 x 65500 pixels, more than data.max_image_pixels = 50000000"))
      << check.out;

  const auto eval = run_segdistill({"--threads", "1", "eval", cfg, "--checkpoint", checkpoint_});
  EXPECT_EQ(eval.exit_code, 1);
  EXPECT_TRUE(contains(eval.err, "data.val: bad sample 'toy_000005': " + file)) << eval.err;

  std::string skipping = read_file(cfg);
  skipping.replace(skipping.find("[data.val]\n"), 11, "[data.val]\non_bad_sample = \"skip\"\n");
  const auto skipped =
      run_segdistill({"--threads", "1", "eval", dir_->write("huge_jpeg_skip.toml", skipping), "--checkpoint", checkpoint_});
  EXPECT_EQ(skipped.exit_code, 0) << skipped.err;
  EXPECT_TRUE(contains(skipped.err, "skipped sample 'toy_000005': " + file)) << skipped.err;
  EXPECT_TRUE(contains(skipped.out, "2 images in")) << skipped.out;

  const auto predict = run_segdistill({"--threads", "1", "predict", cfg, "--checkpoint", checkpoint_, "--input", file, "--output",
                                       (dir_->path() / "predict_huge").string()});
  EXPECT_EQ(predict.exit_code, 1);
  EXPECT_TRUE(contains(predict.err, file + ": the image declares 65500 x 65500")) << predict.err;
}

TEST_F(HostileInputs, APngLabelBombIsRefusedBeforeDecoding) {
  const std::string root = toy_with("bomb_png", "SegmentationClass/toy_000006.png", "bomb_label.png");
  const auto eval = run_segdistill({"--threads", "1", "eval", config_on("bomb_png", root), "--checkpoint", checkpoint_});
  EXPECT_EQ(eval.exit_code, 1);
  EXPECT_TRUE(contains(eval.err, root + "/SegmentationClass/toy_000006.png: the label declares 20000 x 20000 pixels, more than "
                                        "data.max_image_pixels"))
      << eval.err;
  // The limit is the config's: raised, the same file is decoded (and then fails on its size).
  const auto raised = run_segdistill({"--threads", "1", "data", "check", config_on("bomb_png_raised", root), "--split", "val",
                                      "--set", "data.max_image_pixels=400000000"});
  EXPECT_TRUE(contains(raised.out, "label is 20000x20000 but image")) << raised.out;
}

TEST_F(HostileInputs, AMatBombIsRefusedFromItsHeader) {
  // The file declares 2000 x 2000 values: a limit below that stands for the default 50 M
  // against a larger matrix (scipy takes minutes to write one of over 50 M values).
  segdistill::set_max_image_pixels(3'000'000);
  const std::string message = segdistill_test::error_of([] { segdistill::read_mat_matrix(hostile("bomb.mat"), "S"); });
  EXPECT_TRUE(contains(message, hostile("bomb.mat") + ": a matrix of more than 3000000 values, more than data.max_image_pixels"))
      << message;
  segdistill::set_max_image_pixels(5'000'000);
  const cv::Mat read = segdistill::read_mat_matrix(hostile("bomb.mat"), "S");  // within a raised limit it reads
  EXPECT_EQ(read.rows, 2000);
  segdistill::set_max_image_pixels(segdistill::kDefaultMaxImagePixels);
}

TEST_F(HostileInputs, ConfigsAreBoundedBeforeParsing) {
  std::string deep = "a";
  for (int i = 0; i < 50000; ++i) deep += ".a";
  const auto dotted = run_segdistill({"config", "check", dir_->write("deep.toml", deep + " = 1\n")});
  EXPECT_EQ(dotted.exit_code, 1);  // 139 was toml++ recursing to a segfault
  EXPECT_TRUE(contains(dotted.err, "deep.toml:1: dotted keys nested deeper than 64 levels")) << dotted.err;
  const auto arrays = run_segdistill(
      {"config", "check", dir_->write("arrays.toml", "x = " + std::string(10000, '[') + std::string(10000, ']') + "\n")});
  EXPECT_EQ(arrays.exit_code, 1);
  EXPECT_TRUE(contains(arrays.err, "arrays and tables nested deeper than 64 levels")) << arrays.err;
  // Dots and brackets inside strings and comments are text, not nesting.
  const auto text = run_segdistill(
      {"config", "check", dir_->write("text.toml", "# " + deep + "\n[plugins]\nload = [\"" + deep + "\"] # [[[[\n")});
  EXPECT_TRUE(contains(text.err, "plugin")) << text.err;
  EXPECT_FALSE(contains(text.err, "nested deeper")) << text.err;
  const auto zero = run_segdistill({"config", "check", "/dev/zero"});
  EXPECT_EQ(zero.exit_code, 1);
  EXPECT_TRUE(contains(zero.err, "/dev/zero: the config file is a character device, not a regular file")) << zero.err;
  const auto set = run_segdistill({"config", "check", config_, "--set", deep + "=1"});
  EXPECT_EQ(set.exit_code, 1);
  EXPECT_TRUE(contains(set.err, "levels (at most 64)")) << set.err;
}

TEST_F(HostileInputs, ConfigCheckValidatesWhatItCan) {
  const auto empty = run_segdistill({"config", "check", dir_->write("empty.toml", "")});
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_TRUE(contains(empty.err, "empty.toml: the config is empty: nothing to check")) << empty.err;
  const auto nan = run_segdistill({"config", "check", config_, "--set", "train.optimizer.lr=nan"});
  EXPECT_EQ(nan.exit_code, 1);
  EXPECT_TRUE(contains(nan.err, "train.optimizer.lr: value nan is not a finite number")) << nan.err;
  const auto classes = run_segdistill({"config", "check", config_, "--set", "model.num_classes=4"});
  EXPECT_EQ(classes.exit_code, 1);
  EXPECT_TRUE(contains(classes.err,
                       "model.num_classes = 4, but data.train has 6 classes (background, disc, square, triangle, "
                       "ring, cross): labels up to 5 would index past the network's outputs"))
      << classes.err;
  const auto train =
      run_segdistill({"train", config_, "--work-dir", (dir_->path() / "classes").string(), "--set", "model.num_classes=4"});
  EXPECT_EQ(train.exit_code, 1);
  EXPECT_TRUE(contains(train.err, "model.num_classes = 4, but data.train has 6 classes")) << train.err;
  const auto crop = run_segdistill(
      {"config", "check", config_, "--set", "data.train.pipeline=[{type=\"random_scale_crop\", crop_size=[100000]}]"});
  EXPECT_EQ(crop.exit_code, 1);
  EXPECT_TRUE(contains(crop.err, "crop_size: value [100000] out of range: must be between 1.0 and 16384.0")) << crop.err;
  EXPECT_FALSE(contains(crop.err, "unexpected")) << crop.err;
}

TEST_F(HostileInputs, OutputsNeverReplaceInputs) {
  // predict into its own input folder
  const fs::path images = dir_->path() / "images";
  fs::create_directories(images);
  fs::copy_file(toy() + "/JPEGImages/toy_000004.jpg", images / "a.jpg");
  const std::string before = read_file(images / "a.jpg");
  const auto same =
      run_segdistill({"predict", config_, "--checkpoint", checkpoint_, "--input", images.string(), "--output", images.string()});
  EXPECT_EQ(same.exit_code, 1);
  EXPECT_TRUE(contains(same.err, "--output " + images.string() + ": this is the folder of the input images")) << same.err;
  const auto beside = run_segdistill(
      {"predict", config_, "--checkpoint", checkpoint_, "--input", (images / "a.jpg").string(), "--output", images.string()});
  EXPECT_EQ(beside.exit_code, 1);
  EXPECT_TRUE(contains(beside.err, "this is the folder of the input images")) << beside.err;
  EXPECT_FALSE(fs::exists(images / "a.png"));
  // a.jpg and a.png would share a.png
  fs::copy_file(toy() + "/SegmentationClass/toy_000004.png", images / "a.png");
  const auto clash = run_segdistill({"predict", config_, "--checkpoint", checkpoint_, "--input", images.string(), "--output",
                                     (dir_->path() / "masks").string()});
  EXPECT_EQ(clash.exit_code, 1);
  EXPECT_TRUE(contains(clash.err, images.string() + "/a.jpg and " + images.string() + "/a.png would both be written as"))
      << clash.err;
  EXPECT_FALSE(fs::exists(dir_->path() / "masks"));
  EXPECT_EQ(read_file(images / "a.jpg"), before);

  // eval --save-pred into the label folder
  const std::string labels = toy() + "/SegmentationClass";
  const std::string label_before = read_file(labels + "/toy_000005.png");
  const auto into_labels =
      run_segdistill({"--threads", "1", "eval", config_, "--checkpoint", checkpoint_, "--save-pred", labels});
  EXPECT_EQ(into_labels.exit_code, 1);
  EXPECT_TRUE(contains(into_labels.err, "--save-pred " + labels + ": this is the folder of the labels")) << into_labels.err;
  EXPECT_EQ(read_file(labels + "/toy_000005.png"), label_before);
  const auto into_images =
      run_segdistill({"--threads", "1", "eval", config_, "--checkpoint", checkpoint_, "--save-overlay", toy() + "/JPEGImages"});
  EXPECT_EQ(into_images.exit_code, 1);
  EXPECT_TRUE(contains(into_images.err, "this is the folder of the images")) << into_images.err;
}

// Round 2 (issue #32): what the decoder reads decides, bounded decoding work, corrupt
// images are bad samples, ids stay in the data root, lists are bounded regular files.
TEST_F(HostileInputs, JpegSizesComeFromTheDecodersOwnHeaderPass) {
  // 30000 x 30000 behind a stray byte: a hand parser stopping at the stray byte saw no size.
  const std::string root = toy_with("stray", "JPEGImages/toy_000005.jpg", "stray_byte.jpg");
  const std::string file = root + "/JPEGImages/toy_000005.jpg";
  const auto check = segdistill_test::run_segdistill_measured({"data", "check", config_on("stray", root), "--split", "val"}, 120);
  EXPECT_EQ(check.exit_code, 1) << check.err;
  EXPECT_TRUE(contains(check.out, file + ": corrupt JPEG: Corrupt JPEG data: 1 extraneous bytes before marker 0xc0"))
      << check.out;
  // 30000 x 30000 RGB would be 2.7 GB; data check of good toy data peaks near 200 MB.
  EXPECT_LT(check.peak_rss_bytes, std::int64_t{1} << 30) << "the image was decoded";
  // Without the stray byte, the size libjpeg reads is refused before any decoding.
  const std::string message = segdistill_test::error_of([&] { segdistill::read_rgb_image(hostile("huge_header.jpg")); });
  EXPECT_TRUE(contains(message, ": the image declares 65500 x 65500 pixels")) << message;
}

TEST_F(HostileInputs, OnlyJpegPngAndBmpAreDecodedWhateverTheExtension) {
  const std::string tiff = hostile("tiff_named.jpg");
  EXPECT_EQ(segdistill_test::error_of([&] { segdistill::read_rgb_image(tiff); }),
            tiff +
                ": not a JPEG, PNG or BMP image (the file holds a TIFF image); segdistill decodes only these formats, told by "
                "their first bytes, whatever the extension");
  const auto predict = run_segdistill({"--threads", "1", "predict", config_, "--checkpoint", checkpoint_, "--input", tiff,
                                       "--output", (dir_->path() / "predict_tiff").string()});
  EXPECT_EQ(predict.exit_code, 1);
  EXPECT_TRUE(contains(predict.err, tiff + ": not a JPEG, PNG or BMP image")) << predict.err;
}

TEST_F(HostileInputs, ProgressiveJpegsMayHoldAtMostAHundredScans) {
  // 190 valid scans (jpegtran's, spliced) and one scan repeated 20,000 times: refused at
  // scan 101. 100 scans (jpegtran's own maximum) decode.
  for (const char* name : {"many_scans.jpg", "empty_scans.jpg", "empty_scans_large.jpg"}) {
    const std::string message = segdistill_test::error_of([&] { segdistill::read_rgb_image(hostile(name)); });
    EXPECT_EQ(message, hostile(name) + ": corrupt JPEG: more than 100 scans (a progressive JPEG built to decode for minutes)");
  }
  const cv::Mat hundred = segdistill::read_rgb_image(hostile("scans_100.jpg"));
  EXPECT_EQ(hundred.rows, 40);
  EXPECT_EQ(hundred.cols, 40);
  // In a run: a bad sample, and a data check that ends (20,000 scans of 4096 x 4096 took 20 s).
  const std::string root = toy_with("scans", "JPEGImages/toy_000005.jpg", "empty_scans_large.jpg");
  const auto check = segdistill_test::run_segdistill_measured({"data", "check", config_on("scans", root), "--split", "val"}, 120);
  EXPECT_FALSE(check.timed_out);
  EXPECT_TRUE(contains(check.out, "toy_000005.jpg: corrupt JPEG: more than 100 scans")) << check.out;
}

TEST_F(HostileInputs, ACorruptJpegIsABadSampleThatFollowsOnBadSample) {
  const std::string root = toy_with("cut", "JPEGImages/toy_000005.jpg", "truncated_eoi.jpg");
  const std::string file = root + "/JPEGImages/toy_000005.jpg";
  const std::string cfg = config_on("cut", root);
  const auto check = run_segdistill({"data", "check", cfg, "--split", "val"});
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_TRUE(contains(check.out, file + ": corrupt JPEG: Corrupt JPEG data: premature end of data segment")) << check.out;
  const auto eval = run_segdistill({"--threads", "1", "eval", cfg, "--checkpoint", checkpoint_});
  EXPECT_EQ(eval.exit_code, 1);
  EXPECT_TRUE(contains(eval.err, "data.val: bad sample 'toy_000005': " + file + ": corrupt JPEG")) << eval.err;
  const auto skipped =
      run_segdistill({"--threads", "1", "eval", cfg, "--checkpoint", checkpoint_, "--set", "data.val.on_bad_sample=\"skip\""});
  EXPECT_EQ(skipped.exit_code, 0) << skipped.err;
  EXPECT_TRUE(contains(skipped.err, "skipped sample 'toy_000005': " + file)) << skipped.err;
}

TEST_F(HostileInputs, ListIdsStayInsideTheDataRoot) {
  const fs::path base = dir_->path() / "escape";
  const fs::path root = base / "data" / "toy";
  fs::create_directories(root.parent_path());
  fs::copy(toy(), root, fs::copy_options::recursive);
  fs::create_directories(base / "data" / "victim");
  fs::copy_file(root / "JPEGImages/toy_000005.jpg", base / "data/victim/v.jpg");
  fs::copy_file(root / "SegmentationClass/toy_000005.png", base / "data/victim/v.png");
  const fs::path list = root / "ImageSets/Segmentation/val.txt";
  const std::string listed = read_file(list);
  const int line = 1 + static_cast<int>(std::count(listed.begin(), listed.end(), '\n'));
  for (const auto& [id, problem] : std::vector<std::pair<std::string, std::string>>{
           {"../../victim/v", "a '..' component"}, {"/etc/passwd", "an absolute path"}, {"a//b", "an empty or '.' component"}}) {
    SCOPED_TRACE(id);
    std::ofstream(list, std::ios::trunc) << listed << id << "\n";
    const std::string cfg = config_on("escape", root.string());
    const std::string expected =
        "data.val.split: " + list.string() + ":" + std::to_string(line) + ": sample id '" + id + "' has " + problem;
    const auto check = run_segdistill({"data", "check", cfg, "--split", "val"});
    EXPECT_EQ(check.exit_code, 1);  // 0: images were read from outside the root
    EXPECT_TRUE(contains(check.err, expected)) << check.err;
    const auto eval = run_segdistill(
        {"--threads", "1", "eval", cfg, "--checkpoint", checkpoint_, "--save-pred", (base / "preds/a/b").string()});
    EXPECT_EQ(eval.exit_code, 1);
    EXPECT_TRUE(contains(eval.err, expected)) << eval.err;
  }
  EXPECT_FALSE(fs::exists(base / "preds/victim/v.png")) << "a prediction was written outside --save-pred";
  // The framework's own guard, for data set plugins that do not refuse such ids.
  EXPECT_EQ(
      segdistill_test::error_of([] { segdistill::output_file_inside("--save-pred", "preds/a/b", "../../victim/v", ".png"); }),
      "--save-pred preds/a/b: sample id '../../victim/v' would write outside the folder; refused");
  EXPECT_EQ(segdistill::output_file_inside("--save-pred", "preds", "a/../b", ".png"), "preds/b.png");
}

TEST_F(HostileInputs, ListsAndConfigsAreRegularFilesReadWithoutBlocking) {
  const fs::path root = dir_->path() / "fifo_list";
  fs::copy(toy(), root, fs::copy_options::recursive);
  const fs::path list = root / "ImageSets/Segmentation/val.txt";
  fs::remove(list);
  ASSERT_EQ(mkfifo(list.c_str(), 0600), 0);
  const std::string cfg = config_on("fifo_list", root.string());
  const auto check = segdistill_test::run_segdistill_measured({"data", "check", cfg, "--split", "val"}, 30);
  EXPECT_FALSE(check.timed_out);
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_TRUE(contains(check.err, list.string() + ": the split list is a FIFO (named pipe), not a regular file")) << check.err;
  // config check reads what it can and says what it could not (the data may live elsewhere).
  const auto config_check = segdistill_test::run_segdistill_measured({"config", "check", cfg}, 30);
  EXPECT_FALSE(config_check.timed_out);
  EXPECT_TRUE(contains(config_check.err, "data.val not checked against model.num_classes: ")) << config_check.err;
  fs::remove(list);
  fs::create_symlink("/dev/zero", list);
  const auto zero = segdistill_test::run_segdistill_measured({"data", "check", cfg, "--split", "val"}, 30);
  EXPECT_EQ(zero.exit_code, 1);
  EXPECT_TRUE(contains(zero.err, ": the split list is a character device, not a regular file")) << zero.err;
  EXPECT_LT(zero.peak_rss_bytes, std::int64_t{1} << 30);  // 8.4 GB before
  const std::string fifo_config = (dir_->path() / "fifo.toml").string();
  ASSERT_EQ(mkfifo(fifo_config.c_str(), 0600), 0);
  const auto config_fifo = segdistill_test::run_segdistill_measured({"config", "check", fifo_config}, 30);
  EXPECT_FALSE(config_fifo.timed_out);
  EXPECT_TRUE(contains(config_fifo.err, fifo_config + ": the config file is a FIFO (named pipe), not a regular file"))
      << config_fifo.err;
}

TEST_F(HostileInputs, BaseDiamondsAreParsedOnceAndBounded) {
  // 41 files, each naming the next twice: 2^40 parses without memoisation.
  for (int i = 0; i < 41; ++i)
    dir_->write("diamond/d" + std::to_string(i) + ".toml",
                (i < 40 ? "_base_ = [\"d" + std::to_string(i + 1) + ".toml\", \"d" + std::to_string(i + 1) + ".toml\"]\n" : "") +
                    "k" + std::to_string(i) + " = " + std::to_string(i) + "\n");
  const auto show = segdistill_test::run_segdistill_measured({"config", "show", (dir_->path() / "diamond/d0.toml").string()}, 60);
  EXPECT_FALSE(show.timed_out);
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_TRUE(contains(show.out, "k40 = 40")) << show.out;
  // A chain of 70 distinct files passes the limit of 64.
  for (int i = 0; i < 70; ++i)
    dir_->write(
        "chain/c" + std::to_string(i) + ".toml",
        (i < 69 ? "_base_ = \"c" + std::to_string(i + 1) + ".toml\"\n" : std::string()) + "k = " + std::to_string(i) + "\n");
  const auto chain = run_segdistill({"config", "show", (dir_->path() / "chain/c0.toml").string()});
  EXPECT_EQ(chain.exit_code, 1);
  EXPECT_TRUE(contains(chain.err, "_base_: 'c65.toml' would be config file number 65 of this config (at most 64 files)"))
      << chain.err;
}

TEST_F(HostileInputs, UserTextIsPrintedWithItsControlCharactersEscaped) {
  std::string text = read_file(config_);
  text.replace(text.find("[train]\n"), 8, "[train]\n\"bad\\u001b[31mkey\" = 1\n");
  const auto r = run_segdistill({"config", "check", dir_->write("escape_key.toml", text)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "unknown key 'bad\\x1b[31mkey'")) << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << "a raw escape byte reached the terminal";
  EXPECT_EQ(segdistill::printable("a\x1b[2Jb\r\x7f\xc3\xa9\xff\n"), "a\\x1b[2Jb\\x0d\\x7f\xc3\xa9\\xff\n");
}

// Inputs the fuzz harnesses found (tests/fuzz/regressions/HARNESS/): each must end in a
// clear error, within bounded memory.
TEST(FuzzRegressions, MatioHeadersAskingForGigabytesAreCorruptFiles) {
  // v5 .mat files of a few hundred bytes whose matrix header made matio's Mat_VarReadInfo
  // malloc 2.28 GB; the second says "MATLAB 7.3" in its text but is v5 by its version word;
  // the third made matio's struct-field accessor dereference fields it had not read; the
  // fourth (round 2) sets the complex flag on a uint8 matrix: matio's data is then a pair
  // of pointers, which was read as 3072 values.
  const std::string folder = std::string(SEGDISTILL_SOURCE_DIR) + "/tests/fuzz/regressions/fuzz_image_readers/";
  segdistill::set_max_image_pixels(segdistill::kDefaultMaxImagePixels);
  for (const char* name : {"matio_name_length_oom.mat", "matio_header_text_says_73.mat", "matio_struct_fields_not_read.mat",
                           "matio_complex_flag_split_data.mat"})
    for (const char* variable : {"S", "GTcls.Segmentation"}) {
      const std::string message = segdistill_test::error_of([&] { segdistill::read_mat_matrix(folder + name, variable); });
      EXPECT_TRUE(contains(message, folder + name + ": ")) << message;
      EXPECT_FALSE(contains(message, "(no error)")) << message;
    }
}

// Every seed and every finding of the fuzz harnesses, through the public readers of the
// normal build: each ends in a value or a segdistill::Error, nothing else.
namespace {

// An input of fuzz_split_and_bases: a split list and up to 8 configs f1..f8.toml, cut at
// "\n===\n" (tests/fuzz/fuzz_split_and_bases.cpp), written out and read back.
void replay_split_and_bases(const std::string& input, const std::function<void(const std::function<void()>&)>& reads) {
  const auto parts = segdistill_fuzz::split_and_bases_parts(read_file(input));
  TempDir dir;
  const std::string list = dir.write("list.txt", parts[0]);
  for (std::size_t i = 1; i <= 8; ++i) dir.write("f" + std::to_string(i) + ".toml", i < parts.size() ? parts[i] : "");
  reads([&] { segdistill::read_split_list(list, "data.train.split"); });
  reads([&] { segdistill::Config::load((dir.path() / "f1.toml").string()); });
}

}  // namespace

TEST(FuzzRegressions, EverySeedAndFindingEndsInAValueOrAnError) {
  segdistill::set_max_image_pixels(1 << 20);
  const fs::path fuzz = fs::path(SEGDISTILL_SOURCE_DIR) / "tests/fuzz";
  int files = 0;
  for (const char* set : {"corpus", "regressions"}) {
    if (!fs::exists(fuzz / set)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(fuzz / set)) {
      if (!entry.is_regular_file()) continue;
      const std::string path = entry.path().string();
      const std::string harness = entry.path().parent_path().filename().string();
      SCOPED_TRACE(path);
      const auto reads = [&](const std::function<void()>& read) {
        try {
          read();
        } catch (const segdistill::Error&) {
        }
      };
      if (harness == "fuzz_pytorch_checkpoint") reads([&] { segdistill::read_pytorch_state_dict(path); });
      if (harness == "fuzz_segdistill_checkpoint") reads([&] { segdistill::load_checkpoint(path); });
      if (harness == "fuzz_image_readers") {
        reads([&] { segdistill::read_rgb_image(path); });
        reads([&] { segdistill::read_label_png(path); });
        reads([&] { segdistill::read_mat_matrix(path, "S"); });
        reads([&] { segdistill::read_mat_matrix(path, "GTcls.Segmentation"); });
      }
      if (harness == "fuzz_config") reads([&] { segdistill::Config::load(path); });
      if (harness == "fuzz_split_and_bases") replay_split_and_bases(path, reads);
      ++files;
    }
  }
  EXPECT_GE(files, 24);
  segdistill::set_max_image_pixels(segdistill::kDefaultMaxImagePixels);
}

TEST(FuzzRegressions, PngDimensionsWhoseProductOverflowsAreRefused) {
  // A 105-byte PNG declaring 4294902015 x 4294967295: their product overflowed the
  // 64-bit pixel count (undefined behaviour, found by UBSan under the fuzzer).
  const std::string file =
      std::string(SEGDISTILL_SOURCE_DIR) + "/tests/fuzz/regressions/fuzz_image_readers/png_dimensions_overflow.png";
  segdistill::set_max_image_pixels(segdistill::kDefaultMaxImagePixels);
  for (const auto& read : {std::function<void()>([&] { segdistill::read_rgb_image(file); }),
                           std::function<void()>([&] { segdistill::read_label_png(file); })}) {
    const std::string message = segdistill_test::error_of(read);
    EXPECT_TRUE(contains(message, file + ": the ")) << message;
    EXPECT_TRUE(contains(message, " declares 4294902015 x 4294967295 pixels, more than data.max_image_pixels")) << message;
  }
}
