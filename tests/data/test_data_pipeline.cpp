// Transforms, the loader and the toy data set.
#include <gtest/gtest.h>
#include <cmath>

#include <filesystem>
#include <fstream>
#include <set>

#include <torch/torch.h>

#include "data_test_support.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/data/image_io.hpp"
#include "segdistill/data/loader.hpp"
#include "segdistill/plugin/registries.hpp"
#include "tolerance.hpp"
#include "toy_dataset.hpp"

using namespace segdistill;
using namespace segdistill_test;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<Transform> make_transform(const std::string& toml) {
  PluginLoader::instance().load_directory(SEGDISTILL_BUILD_PLUGIN_DIR_FOR_TESTS);
  const Config config = Config::parse("t = " + toml, "pipeline.toml");
  return transforms().create(config.root().table("t"), TransformContext{255});
}

// An image whose pixels encode their label, to check image and label move together.
Sample coded_sample(int width, int height) {
  Sample s;
  s.id = "coded";
  s.label.create(height, width, CV_8UC1);
  s.image.create(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const auto v = static_cast<uchar>((x / 10 * 3 + y / 10) % 20 + 1);  // 10x10 blocks
      s.label.at<uchar>(y, x) = v;
      s.image.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(v * 12), 0, 0);
    }
  s.original_size = s.image.size();
  return s;
}

// With `interior_only`, pixels within 2 of another label value are skipped: bilinear
// resizing blends the image there while the label (nearest) does not; and so are those
// within 2 of the border, whose neighbours outside a crop the check cannot see.
void expect_image_matches_label(const Sample& s, bool interior_only = false) {
  for (int y = 0; y < s.label.rows; ++y)
    for (int x = 0; x < s.label.cols; ++x) {
      const uchar v = s.label.at<uchar>(y, x);
      if (interior_only) {
        if (x < 2 || y < 2 || x >= s.label.cols - 2 || y >= s.label.rows - 2) continue;
        bool uniform = true;
        for (int dy = -2; dy <= 2; ++dy)
          for (int dx = -2; dx <= 2; ++dx) {
            const int yy = std::clamp(y + dy, 0, s.label.rows - 1), xx = std::clamp(x + dx, 0, s.label.cols - 1);
            uniform = uniform && s.label.at<uchar>(yy, xx) == v;
          }
        if (!uniform) continue;
      }
      if (v == 255) {
        ASSERT_EQ(s.image.at<cv::Vec3b>(y, x)[0], 0) << "padding";
      } else if (interior_only) {
        // Within half a label step: the pixel came from its own block, not a neighbour's.
        EXPECT_TRUE(segdistill_test::within("s.image.at<cv::Vec3b>(y, x)[0] vs v * 12",
                                            std::abs((s.image.at<cv::Vec3b>(y, x)[0]) - (v * 12)), 2))
            << x << "," << y;
      } else {
        ASSERT_EQ(s.image.at<cv::Vec3b>(y, x)[0], v * 12) << x << "," << y;
      }
    }
}

std::string toy_config(const std::string& root, const std::string& train_extra = "") {
  return "[data]\nnum_classes = 6\n[data.train]\ntype = \"voc\"\nroot = \"" + root +
         "\"\nclass_names = [\"background\", \"disc\", \"square\", \"triangle\", \"ring\", \"cross\"]\n"
         "pipeline = [{type = \"random_flip\"}, {type = \"random_scale_crop\", base_size = 64, crop_size = [48, 40], "
         "scale_range = [0.5, 1.5]}, {type = \"gaussian_blur\"}, {type = \"normalize\"}]\n" +
         train_extra;
}

class ToyData : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    toy::write_toy_dataset({dir_->path().string(), 7, 24, 8, 64, 64});
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string root() { return dir_->path().string(); }
  static TempDir* dir_;
};
TempDir* ToyData::dir_ = nullptr;

}  // namespace

TEST(Transforms, RandomScaleCropGivesTheCropSizePadsWithIgnoreAndKeepsPairsAligned) {
  auto crop = make_transform("{type = \"random_scale_crop\", base_size = 40, crop_size = [64, 56], scale_range = [0.5, 2.0]}");
  std::mt19937_64 rng(3);
  int padded = 0;
  for (int i = 0; i < 40; ++i) {
    Sample s = coded_sample(50, 40);
    crop->apply(s, rng);
    ASSERT_EQ(s.image.size(), cv::Size(56, 64));
    ASSERT_EQ(s.label.size(), cv::Size(56, 64));
    std::set<int> values;
    for (int y = 0; y < s.label.rows; ++y)
      for (int x = 0; x < s.label.cols; ++x) values.insert(s.label.at<uchar>(y, x));
    for (int v : values) ASSERT_TRUE(v == 255 || (v >= 1 && v <= 20)) << v;
    padded += values.count(255) ? 1 : 0;
    expect_image_matches_label(s, /*interior_only=*/true);
  }
  EXPECT_GT(padded, 0);  // small scales needed padding, and it was the ignore index
}

TEST(Transforms, RandomScaleCropPadsLabelsWithLabelFill) {
  // The published VOC pipeline pads labels with background (0); the labels of
  // coded_sample are 1..20, so a 0 can only be padding, and no 255 may appear.
  auto crop = make_transform(
      "{type = \"random_scale_crop\", base_size = 40, crop_size = [64, 56], scale_range = [0.5, 0.6], label_fill = 0}");
  std::mt19937_64 rng(3);
  Sample s = coded_sample(50, 40);
  crop->apply(s, rng);
  std::set<int> values;
  for (int y = 0; y < s.label.rows; ++y)
    for (int x = 0; x < s.label.cols; ++x) values.insert(s.label.at<uchar>(y, x));
  EXPECT_TRUE(values.count(0)) << "the crop needed padding";
  EXPECT_FALSE(values.count(255));
  // Out of the label range: refused.
  EXPECT_NE(
      segdistill_test::error_of([] { make_transform("{type = \"random_scale_crop\", label_fill = 256}"); }).find("label_fill"),
      std::string::npos);
}

TEST(Transforms, FlipMovesImageAndLabelTogether) {
  auto flip = make_transform("{type = \"random_flip\", probability = 1.0}");
  Sample s = coded_sample(31, 17);
  const cv::Mat before = s.label.clone();
  std::mt19937_64 rng(1);
  flip->apply(s, rng);
  EXPECT_EQ(s.label.at<uchar>(4, 0), before.at<uchar>(4, 30));
  expect_image_matches_label(s);
  auto never = make_transform("{type = \"random_flip\", probability = 0.0}");
  Sample t = coded_sample(31, 17);
  never->apply(t, rng);
  EXPECT_TRUE(same(t.label, before));
}

TEST(Transforms, PadToUsesIgnoreAndMultiples) {
  auto pad = make_transform("{type = \"pad_to\", multiple_of = 16}");
  Sample s = coded_sample(33, 20);
  std::mt19937_64 rng(1);
  pad->apply(s, rng);
  EXPECT_EQ(s.image.size(), cv::Size(48, 32));
  EXPECT_EQ(s.label.at<uchar>(31, 47), 255);
  expect_image_matches_label(s);
}

TEST(Transforms, NormalizeIsPublishedMeanAndStd) {
  auto normalize = make_transform("{type = \"normalize\"}");
  Sample s;
  s.image = cv::Mat(1, 1, CV_8UC3, cv::Scalar(255, 0, 128));
  std::mt19937_64 rng(1);
  normalize->apply(s, rng);
  const auto px = s.image.at<cv::Vec3f>(0, 0);
  EXPECT_TRUE(segdistill_test::within("px[0] vs (1.0 - 0.485) / 0.229", std::abs((px[0]) - ((1.0 - 0.485) / 0.229)), 1e-5));
  EXPECT_TRUE(segdistill_test::within("px[1] vs (0.0 - 0.456) / 0.224", std::abs((px[1]) - ((0.0 - 0.456) / 0.224)), 1e-5));
  EXPECT_TRUE(segdistill_test::within("px[2] vs (128.0 / 255 - 0.406) / 0.225",
                                      std::abs((px[2]) - ((128.0 / 255 - 0.406) / 0.225)), 1e-5));
}

// The CIRKD toolbox's augmentation: each factor of the list is drawn, both sides scale by
// it (rounded half to even, as OpenCV sizes cv::resize(fx, fy): 375 x 0.7 -> 262), the
// crop pads with the ignore index and keeps image and label aligned.
TEST(Transforms, RandomFactorScaleCropDrawsTheListedFactors) {
  auto crop = make_transform("{type = \"random_factor_scale_crop\", factors = [0.5, 2.0], crop_size = [48, 60]}");
  std::mt19937_64 rng(5);
  int padded = 0, whole = 0;
  for (int i = 0; i < 40; ++i) {
    Sample s = coded_sample(50, 40);
    crop->apply(s, rng);
    ASSERT_EQ(s.image.size(), cv::Size(60, 48));
    ASSERT_EQ(s.label.size(), cv::Size(60, 48));
    // Factor 0.5 gives 25 x 20 padded to 60 x 48: 255 from column 25 and row 20 on.
    if (s.label.at<uchar>(47, 59) == 255) {
      ++padded;
      EXPECT_EQ(s.label.at<uchar>(19, 24), 1 + (2 * 24 / 10 * 3 + 2 * 19 / 10) % 20);
      EXPECT_EQ(s.label.at<uchar>(20, 24), 255);
      EXPECT_EQ(s.image.at<cv::Vec3b>(47, 59), cv::Vec3b(0, 0, 0));
    } else {
      ++whole;  // factor 2.0: 100 x 80, a window of it
    }
    expect_image_matches_label(s, /*interior_only=*/true);
  }
  EXPECT_GT(padded, 5);
  EXPECT_GT(whole, 5);
  // 375 x 0.7 = 262.5 -> 262 columns: a 263-wide crop pads exactly the last one.
  auto seventy = make_transform("{type = \"random_factor_scale_crop\", factors = [0.7], crop_size = [7, 263]}");
  Sample scaled = coded_sample(375, 10);
  std::mt19937_64 r(1);
  seventy->apply(scaled, r);
  EXPECT_NE(scaled.label.at<uchar>(6, 261), 255);
  EXPECT_EQ(scaled.label.at<uchar>(6, 262), 255);
  EXPECT_NE(segdistill_test::error_of([] {
              make_transform("{type = \"random_factor_scale_crop\", factors = []}");
            }).find("random_factor_scale_crop.factors: expected at least one factor"),
            std::string::npos);
}

// normalize's bgr: the channels of the toolbox's networks, means still per R, G, B.
TEST(Transforms, NormalizeCanGiveTheToolboxBgrInput) {
  auto normalize = make_transform(
      "{type = \"normalize\", scale = 1.0, mean = [122.67891434, 116.66876762, 104.00698793], std = [1, 1, 1], bgr = true}");
  Sample s;
  s.image = cv::Mat(1, 1, CV_8UC3, cv::Scalar(200, 100, 50));  // R, G, B
  std::mt19937_64 rng(1);
  normalize->apply(s, rng);
  const auto px = s.image.at<cv::Vec3f>(0, 0);
  EXPECT_TRUE(segdistill_test::within("B - mean B", std::abs(px[0] - (50 - 104.00698793)), 1e-4));
  EXPECT_TRUE(segdistill_test::within("G - mean G", std::abs(px[1] - (100 - 116.66876762)), 1e-4));
  EXPECT_TRUE(segdistill_test::within("R - mean R", std::abs(px[2] - (200 - 122.67891434)), 1e-4));
}

TEST(Transforms, BlurChangesTheImageNotTheLabel) {
  auto blur = make_transform("{type = \"gaussian_blur\", probability = 1.0, max_sigma = 3.0}");
  std::mt19937_64 rng(5);
  int changed = 0;
  for (int i = 0; i < 10; ++i) {
    Sample s = coded_sample(30, 30);  // its image changes at block edges, where blurring shows
    const cv::Mat label = s.label.clone(), image = s.image.clone();
    blur->apply(s, rng);
    EXPECT_TRUE(same(s.label, label));
    changed += cv::norm(s.image, image, cv::NORM_L1) > 0 ? 1 : 0;
  }
  EXPECT_GE(changed, 8);  // only sigmas near 0 leave an image as it was
}

TEST_F(ToyData, IsDeterministicForASeed) {
  TempDir again;
  toy::write_toy_dataset({again.path().string(), 7, 24, 8, 64, 64});
  for (const char* file : {"JPEGImages/toy_000003.jpg", "SegmentationClass/toy_000030.png", "ImageSets/Segmentation/val.txt"}) {
    std::ifstream a(fs::path(root()) / file, std::ios::binary), b(again.path() / file, std::ios::binary);
    const std::string x((std::istreambuf_iterator<char>(a)), {}), y((std::istreambuf_iterator<char>(b)), {});
    EXPECT_FALSE(x.empty()) << file;
    EXPECT_EQ(x, y) << file;
  }
  TempDir other;
  toy::write_toy_dataset({other.path().string(), 8, 2, 1, 64, 64});
  EXPECT_FALSE(same(read_label_png(root() + "/SegmentationClass/toy_000000.png"),
                    read_label_png(other.path().string() + "/SegmentationClass/toy_000000.png")));
}

TEST_F(ToyData, HasEveryClassAndVoidBorders) {
  const DataSplit split = split_from(toy_config(root()));
  ASSERT_EQ(split.dataset->size(), 24u);
  std::set<int> values;
  for (std::size_t i = 0; i < split.dataset->size(); ++i) {
    const Sample s = split.dataset->load(i);
    EXPECT_EQ(s.image.size(), cv::Size(64, 64));
    for (int y = 0; y < s.label.rows; ++y)
      for (int x = 0; x < s.label.cols; ++x) values.insert(s.label.at<uchar>(y, x));
  }
  EXPECT_EQ(values, (std::set<int>{0, 1, 2, 3, 4, 5, 255}));
}

TEST_F(ToyData, LoaderBatchesAreTheSameWhateverTheWorkers) {
  auto batches = [&](int workers) {
    DataLoader loader(split_from(toy_config(root())), LoaderOptions{5, workers, 2, true, true, 11, false});
    loader.start_epoch(3);
    std::vector<Batch> out;
    while (auto b = loader.next()) out.push_back(std::move(*b));
    return out;
  };
  const auto serial = batches(0);
  const auto parallel = batches(2);
  ASSERT_EQ(serial.size(), 4u);  // 24 samples, batch 5, drop_last
  ASSERT_EQ(parallel.size(), serial.size());
  for (std::size_t i = 0; i < serial.size(); ++i) {
    EXPECT_EQ(serial[i].ids, parallel[i].ids);
    EXPECT_TRUE(torch::equal(serial[i].images, parallel[i].images));
    EXPECT_TRUE(torch::equal(serial[i].labels, parallel[i].labels));
  }
  EXPECT_EQ(serial[0].images.sizes(), (std::vector<std::int64_t>{5, 3, 48, 40}));
  EXPECT_EQ(serial[0].labels.scalar_type(), at::kLong);
  const auto values = std::get<0>(at::_unique(serial[0].labels));
  for (std::int64_t i = 0; i < values.numel(); ++i) {
    const auto v = values[i].item<std::int64_t>();
    EXPECT_TRUE(v == 255 || (v >= 0 && v < 6)) << v;
  }
}

TEST_F(ToyData, EpochOrderComesFromSeedAndEpochAndResumesMidEpoch) {
  DataLoader loader(split_from(toy_config(root())), LoaderOptions{4, 2, 2, true, false, 5, false});
  const auto order0 = loader.epoch_order(0), order1 = loader.epoch_order(1);
  EXPECT_NE(order0, order1);
  EXPECT_EQ(std::set<std::size_t>(order0.begin(), order0.end()).size(), 24u);
  DataLoader same_seed(split_from(toy_config(root())), LoaderOptions{4, 0, 2, true, false, 5, false});
  EXPECT_EQ(same_seed.epoch_order(1), order1);

  loader.start_epoch(1);
  std::vector<Batch> full;
  while (auto b = loader.next()) full.push_back(std::move(*b));
  loader.start_epoch(1, 4);  // resume at batch 4
  std::size_t i = 4;
  while (auto b = loader.next()) {
    EXPECT_EQ(b->ids, full.at(i).ids);
    EXPECT_TRUE(torch::equal(b->images, full.at(i).images));
    ++i;
  }
  EXPECT_EQ(i, full.size());
}

TEST_F(ToyData, BadSamplesStopTheLoaderOrAreSkippedAndCounted) {
  TempDir dir;
  fs::copy(root(), dir.path() / "toy", fs::copy_options::recursive);
  fs::remove(dir.path() / "toy/SegmentationClass/toy_000002.png");
  {
    DataLoader loader(split_from(toy_config((dir.path() / "toy").string())), LoaderOptions{4, 2, 1, false, false, 0, false});
    loader.start_epoch(0);
    try {
      while (loader.next()) {
      }
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("data.train: bad sample 'toy_000002': "), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("toy_000002.png: label not found"), std::string::npos) << e.what();
    }
  }
  DataLoader loader(split_from(toy_config((dir.path() / "toy").string(), "on_bad_sample = \"skip\"\n")),
                    LoaderOptions{4, 2, 1, false, false, 0, false});
  loader.start_epoch(0);
  std::size_t samples = 0;
  while (auto b = loader.next()) samples += b->ids.size();
  EXPECT_EQ(samples, 23u);
  EXPECT_EQ(loader.skipped_samples(), 1u);
}

TEST_F(ToyData, BatchesOfDifferentSizesAreExplained) {
  TempDir dir;
  fs::copy(root(), dir.path() / "toy", fs::copy_options::recursive);
  const fs::path toy = dir.path() / "toy";
  write_rgb_image((toy / "JPEGImages/toy_000001.jpg").string(), cv::Mat(80, 72, CV_8UC3, cv::Scalar(9, 9, 9)));
  write_label_png((toy / "SegmentationClass/toy_000001.png").string(), cv::Mat(80, 72, CV_8UC1, cv::Scalar(0)), voc_palette());
  const std::string config =
      "[data]\n[data.train]\ntype = \"voc\"\nroot = \"" + toy.string() +
      "\"\nclass_names = [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"]\npipeline = [{type = \"normalize\"}]\n";
  DataLoader loader(split_from(config), LoaderOptions{2, 0, 1, false, false, 0, false});
  loader.start_epoch(0);
  try {
    loader.next();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("data.train: samples 'toy_000000' (64x64) and 'toy_000001' (72x80) differ in size after "
                                         "the pipeline"),
              std::string::npos)
        << e.what();
  }
}
