// The data set plugins on files written by PIL and scipy.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "data_test_support.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/data/image_io.hpp"

using namespace segdistill;
using segdistill_test::error_of;
using namespace segdistill_test;
namespace fs = std::filesystem;

namespace {

std::string voc_config(const std::string& root, const std::string& extra = "") {
  return "[data]\nnum_classes = 21\n[data.train]\ntype = \"voc\"\nroot = \"" + root + "/VOCdevkit/VOC2012\"\n" + extra;
}

class Datasets : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    write_fixtures("voc", dir_->path().string());
    write_fixtures("cocostuff", dir_->path().string());
    write_fixtures("pngs", (dir_->path() / "pngs").string());
    write_fixtures("cityscapes", dir_->path().string());
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string root() { return dir_->path().string(); }
  static TempDir* dir_;
};
TempDir* Datasets::dir_ = nullptr;

}  // namespace

TEST_F(Datasets, PilPalettePngsReadAsTheirIndices) {
  const cv::Mat palette8 = read_label_png(root() + "/pngs/palette8.png");
  const cv::Mat grey = read_label_png(root() + "/pngs/grey.png");
  ASSERT_EQ(palette8.size(), cv::Size(40, 30));
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 40; ++x) {
      const int expected = (y == 0 && x < 5) ? 255 : (x * 7 + y) % 21;
      ASSERT_EQ(palette8.at<uchar>(y, x), expected) << x << "," << y;
    }
  EXPECT_TRUE(same(palette8, grey));
  const cv::Mat palette4 = read_label_png(root() + "/pngs/palette4.png");
  EXPECT_EQ(palette4.at<uchar>(29, 39), (39 + 29) % 16);
  EXPECT_EQ(palette4.at<uchar>(3, 10), 13);
  const std::string rgb = error_of([&] { read_label_png(root() + "/pngs/rgb.png"); });
  EXPECT_NE(
      rgb.find("rgb.png: cannot read the label: a label PNG must be a palette (P) or 8-bit grey (L) image, this one is RGB"),
      std::string::npos)
      << rgb;
}

TEST_F(Datasets, VocSplitReadsImagesAndLabels) {
  const DataSplit split = split_from(voc_config(root()));
  ASSERT_EQ(split.dataset->size(), 3u);
  EXPECT_EQ(split.dataset->id(1), "2007_000002");
  EXPECT_EQ(split.dataset->info().class_names.at(20), "tvmonitor");
  for (int k = 0; k < 3; ++k) {
    const Sample s = split.dataset->load(static_cast<std::size_t>(k));
    EXPECT_EQ(s.image.type(), CV_8UC3);
    EXPECT_EQ(s.original_size, cv::Size(40, 30));
    EXPECT_TRUE(same(s.label, voc_label(k))) << s.id;
  }
}

TEST_F(Datasets, TrainAugComposesVocAndSbdAsPublished) {
  const DataSplit split = split_from(voc_config(root(), "sbd_root = \"" + root() + "/benchmark_RELEASE/dataset\"\n"));
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < split.dataset->size(); ++i) ids.push_back(split.dataset->id(i));
  // VOC train first, then SBD train, then SBD val; VOC val ids (2008_000010) left out;
  // 2007_000002 (in both) once, from VOC; 2009_000101 (SBD train and val) once.
  EXPECT_EQ(ids,
            (std::vector<std::string>{"2007_000001", "2007_000002", "2007_000003", "2009_000100", "2009_000101", "2009_000102"}));
  EXPECT_TRUE(same(split.dataset->load(1).label, voc_label(1)));   // VOC's label wins
  EXPECT_TRUE(same(split.dataset->load(3).label, sbd_label(12)));  // compressed GTcls
  EXPECT_TRUE(same(split.dataset->load(4).label, sbd_label(13)));  // uncompressed
  EXPECT_TRUE(same(split.dataset->load(5).label, sbd_label(14)));
}

TEST_F(Datasets, CocoStuffDeeplab182Mapping) {
  const DataSplit split = split_from("[data]\n[data.train]\ntype = \"cocostuff10k\"\nroot = \"" + root() +
                                     "/cocostuff-10k-v1.1\"\nsplit = \"all\"\n");
  ASSERT_EQ(split.dataset->size(), 4u);
  EXPECT_EQ(split.dataset->info().num_classes(), 182);
  // v5 compressed (0, 2), v5 uncompressed (1), v7.3 / HDF5 (3, written with k = 5).
  for (int i = 0; i < 4; ++i) {
    const Sample s = split.dataset->load(static_cast<std::size_t>(i));
    const int k = i == 3 ? 5 : i;
    ASSERT_EQ(s.label.size(), cv::Size(48, 36));
    for (int y = 0; y < 36; ++y)
      for (int x = 0; x < 48; ++x) {
        const int stored = coco_s(x, y, k);
        ASSERT_EQ(s.label.at<uchar>(y, x), stored == 0 ? 255 : stored - 1) << s.id << " " << x << "," << y;
      }
  }
}

TEST_F(Datasets, CocoStuffMmseg171Mapping) {
  const DataSplit split = split_from("[data]\nnum_classes = 171\n[data.train]\ntype = \"cocostuff10k\"\nroot = \"" + root() +
                                     "/cocostuff-10k-v1.1\"\nlabel_mapping = \"mmseg171\"\n");
  EXPECT_EQ(split.dataset->info().num_classes(), 171);
  EXPECT_EQ(split.dataset->info().class_names.at(11), "stop sign");  // street sign (12) is dropped
  EXPECT_EQ(split.dataset->info().class_names.at(170), "wood");
  const Sample s = split.dataset->load(0);
  const std::vector<int> unused{12, 26, 29, 30, 45, 66, 68, 69, 71, 83, 91};
  for (int y = 0; y < 36; ++y)
    for (int x = 0; x < 48; ++x) {
      const int stored = coco_s(x, y, 0);
      int expected = 255;
      if (stored != 0 && std::find(unused.begin(), unused.end(), stored) == unused.end())
        expected = stored - 1 - static_cast<int>(std::count_if(unused.begin(), unused.end(), [&](int u) { return u < stored; }));
      ASSERT_EQ(s.label.at<uchar>(y, x), expected) << stored;
    }
}

TEST_F(Datasets, FolderDataSetWithPaletteAndGreyLabels) {
  TempDir dir;
  fs::create_directories(dir.path() / "images");
  fs::create_directories(dir.path() / "labels");
  const std::string voc = root() + "/VOCdevkit/VOC2012";
  fs::copy(voc + "/JPEGImages/2007_000001.jpg", dir.path() / "images/a.jpg");
  fs::copy(voc + "/SegmentationClass/2007_000001.png", dir.path() / "labels/a.png");
  fs::copy(voc + "/JPEGImages/2007_000002.jpg", dir.path() / "images/unlabelled.jpg");
  std::vector<std::string> names;
  for (int c = 0; c < 21; ++c) names.push_back("\"c" + std::to_string(c) + "\"");
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  const DataSplit split = split_from("[data]\n[data.train]\ntype = \"folder\"\nroot = \"" + dir.path().string() +
                                     "\"\nclass_names = [" + list + "]\n");
  ASSERT_EQ(split.dataset->size(), 1u);  // the image without a label is not a sample
  EXPECT_TRUE(same(split.dataset->load(0).label, voc_label(0)));
}

TEST_F(Datasets, MissingRootOrListNamesKeyAndPath) {
  const std::string missing = error_of([&] { split_from(voc_config(root() + "/nowhere")); });
  EXPECT_NE(missing.find("data.train.root: " + root() + "/nowhere/VOCdevkit/VOC2012 is not a folder"), std::string::npos)
      << missing;
  const std::string list = error_of([&] { split_from(voc_config(root(), "split = \"trainaug\"\n")); });
  EXPECT_NE(
      list.find("data.train.split: " + root() + "/VOCdevkit/VOC2012/ImageSets/Segmentation/trainaug.txt: split list not found"),
      std::string::npos)
      << list;
  const std::string mapping = error_of([&] {
    split_from("[data]\n[data.train]\ntype = \"cocostuff10k\"\nroot = \"" + root() +
               "/cocostuff-10k-v1.1\"\nlabel_mapping = \"coco\"\n");
  });
  EXPECT_NE(mapping.find("data.train.label_mapping: invalid value \"coco\"; valid values: \"deeplab182\", \"mmseg171\""),
            std::string::npos)
      << mapping;
}

TEST_F(Datasets, BadSamplesNameTheFileAndWhatWasExpected) {
  TempDir dir;
  fs::copy(root() + "/VOCdevkit", dir.path() / "VOCdevkit", fs::copy_options::recursive);
  const fs::path voc = dir.path() / "VOCdevkit/VOC2012";
  // 0: image missing; 1: truncated JPEG; 2: label value 30.
  fs::remove(voc / "JPEGImages/2007_000001.jpg");
  {
    std::ifstream in(voc / "JPEGImages/2007_000002.jpg", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(voc / "JPEGImages/2007_000002.jpg", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  cv::Mat bad = voc_label(2);
  bad.at<uchar>(5, 5) = 30;
  write_label_png((voc / "SegmentationClass/2007_000003.png").string(), bad, voc_palette());
  // 3 (val list): image and label sizes differ.
  cv::Mat small(10, 10, CV_8UC1, cv::Scalar(1));
  write_label_png((voc / "SegmentationClass/2008_000010.png").string(), small, voc_palette());

  const DataSplit split = split_from(voc_config(dir.path().string()));
  const std::string image = (voc / "JPEGImages").string();
  EXPECT_EQ(error_of([&] { split.dataset->load(0); }), image + "/2007_000001.jpg: image not found");
  EXPECT_EQ(error_of([&] { split.dataset->load(1); }), image + "/2007_000002.jpg: truncated JPEG (no end-of-image marker)");
  EXPECT_EQ(error_of([&] { split.dataset->load(2); }),
            (voc / "SegmentationClass/2007_000003.png").string() +
                ": label value 30 is neither a class (0..20) nor the ignore index 255");
  const DataSplit val = split_from(voc_config(dir.path().string(), "split = \"val\"\n"));
  EXPECT_EQ(error_of([&] { val.dataset->load(0); }), (voc / "SegmentationClass/2008_000010.png").string() +
                                                         ": label is 10x10 but image " + image + "/2008_000010.jpg is 40x30");
}

// Cityscapes in the official layout, written by PIL: every label id 0..33 maps to the
// training class (or void) that an independent table in the fixture writer gives; a
// stray file beside the images is not a sample; a label id outside 0..33 is an error
// naming the file; a wrong class count names the key.
TEST_F(Datasets, CityscapesMapsLabelIdsToTheTrainingClasses) {
  const auto config = [&](const std::string& folder, const std::string& extra) {
    return "[data]\nnum_classes = 19\n[data.train]\ntype = \"cityscapes\"\nroot = \"" + root() + "/" + folder + "\"\n" + extra;
  };
  const DataSplit train = split_from(config("cityscapes", ""));
  ASSERT_EQ(train.dataset->size(), 3u);
  EXPECT_EQ(train.dataset->id(0), "aachen/aachen_000000_000019");
  EXPECT_EQ(train.dataset->id(2), "bochum/bochum_000000_000313");
  EXPECT_EQ(train.dataset->info().class_names.size(), 19u);
  EXPECT_EQ(train.dataset->info().class_names.front(), "road");
  EXPECT_EQ(train.dataset->info().class_names.back(), "bicycle");
  EXPECT_EQ(train.dataset->info().palette[0], cv::Vec3b(128, 64, 128));
  std::set<int> seen;
  for (std::size_t i = 0; i < train.dataset->size(); ++i) {
    const Sample sample = train.dataset->load(i);
    const cv::Mat expected = read_label_png(root() + "/cityscapes/expected/train/" + train.dataset->id(i) + ".png");
    EXPECT_TRUE(same(sample.label, expected)) << train.dataset->id(i);
    EXPECT_TRUE(same(train.dataset->load_label(i), expected)) << train.dataset->id(i);
    for (int y = 0; y < sample.label.rows; ++y)
      for (int x = 0; x < sample.label.cols; ++x) seen.insert(sample.label.at<uchar>(y, x));
  }
  EXPECT_EQ(seen.size(), 20u);  // the 19 classes and void
  const DataSplit val = split_from(config("cityscapes", "split = \"val\"\n"));
  ASSERT_EQ(val.dataset->size(), 1u);
  EXPECT_TRUE(same(val.dataset->load(0).label,
                   read_label_png(root() + "/cityscapes/expected/val/frankfurt/frankfurt_000000_000294.png")));

  // The toolbox's list files: its order, its pairs; paths that leave the root or name no
  // image are errors naming the list.
  const DataSplit listed = split_from(config("cityscapes", "list = \"" + root() + "/cityscapes/list/train.lst\"\n"));
  ASSERT_EQ(listed.dataset->size(), 3u);
  EXPECT_EQ(listed.dataset->id(0), "bochum/bochum_000000_000313");
  EXPECT_TRUE(
      same(listed.dataset->load(0).label, read_label_png(root() + "/cityscapes/expected/train/bochum/bochum_000000_000313.png")));
  const std::string escape =
      error_of([&] { split_from(config("cityscapes", "list = \"" + root() + "/cityscapes/list/escape.lst\"\n")); });
  EXPECT_NE(escape.find("data.train.list: " + root() +
                        "/cityscapes/list/escape.lst:2: sample id "
                        "'leftImg8bit/../../outside_leftImg8bit.png' has a '..' component"),
            std::string::npos)
      << escape;
  const std::string other =
      error_of([&] { split_from(config("cityscapes", "list = \"" + root() + "/cityscapes/list/other.lst\"\n")); });
  EXPECT_NE(other.find("data.train.list: " + root() +
                       "/cityscapes/list/other.lst: 'gtFine/train/aachen/"
                       "aachen_000000_000019_gtFine_labelIds.png' is not an image path"),
            std::string::npos)
      << other;

  const DataSplit outside = split_from(config("cityscapes_outside", ""));
  EXPECT_EQ(error_of([&] { outside.dataset->load(0); }),
            root() +
                "/cityscapes_outside/gtFine/train/ulm/ulm_000000_000019_gtFine_labelIds.png: label value 34 at (4, 3) is not a "
                "Cityscapes label id (0..33)");
  const std::string classes = error_of([&] {
    split_from("[data]\nnum_classes = 21\n[data.train]\ntype = \"cityscapes\"\nroot = \"" + root() + "/cityscapes\"\n");
  });
  EXPECT_NE(classes.find("data.train: data.num_classes is 21 but Cityscapes has 19 training classes"), std::string::npos)
      << classes;
  const std::string split = error_of([&] { split_from(config("cityscapes", "split = \"test\"\n")); });
  EXPECT_NE(split.find("data.train.split: invalid value \"test\"; valid values: \"train\", \"val\""), std::string::npos) << split;
  const std::string empty = error_of([&] { split_from(config("pngs", "")); });
  EXPECT_NE(empty.find("data.train.root: " + root() + "/pngs/leftImg8bit/train is not a folder"), std::string::npos) << empty;
}
