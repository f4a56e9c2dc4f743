// The data sets of the CIRKD toolbox (CamVid, ADE20K, COCO-Stuff-164k, its VOC aug lists)
// on files PIL writes in their official layouts. Each label is compared with the
// training-class PNG an independent mapping in the fixture writer gives, and a value
// outside the encoding is an error naming the file.
#include <gtest/gtest.h>

#include <set>

#include "data_test_support.hpp"
#include "segdistill/data/image_io.hpp"

using namespace segdistill;
using namespace segdistill_test;

namespace {

class ToolboxDatasets : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    for (const char* kind : {"camvid", "ade20k", "cocostuff164k", "vocaug"}) write_fixtures(kind, dir_->path().string());
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string root() { return dir_->path().string(); }
  static std::string config(std::int64_t classes, const std::string& type, const std::string& folder,
                            const std::string& extra = "") {
    return "[data]\nnum_classes = " + std::to_string(classes) + "\n[data.train]\ntype = \"" + type + "\"\nroot = \"" + root() +
           "/" + folder + "\"\n" + extra;
  }
  // Every sample's label equals expected/<id>.png under `expected`; returns the values seen.
  static std::set<int> expect_labels(const DataSplit& split, const std::string& expected) {
    std::set<int> seen;
    for (std::size_t i = 0; i < split.dataset->size(); ++i) {
      const Sample sample = split.dataset->load(i);
      const cv::Mat want = read_label_png(expected + "/" + split.dataset->id(i) + ".png");
      EXPECT_TRUE(same(sample.label, want)) << split.dataset->id(i);
      EXPECT_TRUE(same(split.dataset->load_label(i), want)) << split.dataset->id(i);
      for (int y = 0; y < sample.label.rows; ++y)
        for (int x = 0; x < sample.label.cols; ++x) seen.insert(sample.label.at<uchar>(y, x));
    }
    return seen;
  }
  static TempDir* dir_;
};
TempDir* ToolboxDatasets::dir_ = nullptr;

}  // namespace

TEST_F(ToolboxDatasets, CamVidMapsVoidToIgnoreAndReadsTheToolboxLists) {
  const DataSplit train = split_from(config(11, "camvid", "camvid"));
  ASSERT_EQ(train.dataset->size(), 2u);
  EXPECT_EQ(train.dataset->id(0), "train/0001TP_006690");
  EXPECT_EQ(train.dataset->info().class_names.front(), "sky");
  EXPECT_EQ(train.dataset->info().class_names.back(), "bicyclist");
  EXPECT_EQ(train.dataset->info().palette[3], cv::Vec3b(128, 64, 128));
  EXPECT_EQ(expect_labels(train, root() + "/camvid/expected").size(), 12u);  // 11 classes and void
  EXPECT_EQ(split_from(config(11, "camvid", "camvid", "split = \"trainval\"\n")).dataset->size(), 3u);
  EXPECT_EQ(split_from(config(11, "camvid", "camvid", "split = \"test\"\n")).dataset->id(0), "test/Seq05VD_f00000");

  // The toolbox's list ("image label" relative to the data folder): its order.
  const DataSplit listed =
      split_from(config(11, "camvid", "", "list = \"" + root() + "/camvid_list/camvid_trainval_list.txt\"\n"));
  ASSERT_EQ(listed.dataset->size(), 3u);
  EXPECT_EQ(listed.dataset->id(0), "val/0016E5_07959");
  expect_labels(listed, root() + "/camvid/expected");
  const std::string bad =
      error_of([&] { split_from(config(11, "camvid", "", "list = \"" + root() + "/camvid_list/bad_list.txt\"\n")); });
  EXPECT_NE(bad.find("data.train.list: " + root() +
                     "/camvid_list/bad_list.txt: 'camvid/trainannot/0001TP_006690.png' is not an image path"),
            std::string::npos)
      << bad;

  const DataSplit outside = split_from(config(11, "camvid", "camvid_outside"));
  EXPECT_EQ(error_of([&] { outside.dataset->load(0); }),
            root() + "/camvid_outside/trainannot/a.png: label value 12 at (7, 5) is not a CamVid class (0..10) or void (11)");
  const std::string classes = error_of([&] { split_from(config(12, "camvid", "camvid")); });
  EXPECT_NE(classes.find("data.train: data.num_classes is 12 but CamVid has 11 classes"), std::string::npos) << classes;
}

TEST_F(ToolboxDatasets, Ade20kReducesTheZeroLabel) {
  const DataSplit train = split_from(config(150, "ade20k", "ADEChallengeData2016"));
  ASSERT_EQ(train.dataset->size(), 2u);                   // the .png beside the images is no sample
  EXPECT_EQ(train.dataset->id(0), "ADE_train_00000001");  // name order
  EXPECT_EQ(train.dataset->info().class_names.size(), 150u);
  EXPECT_EQ(train.dataset->info().class_names.front(), "wall");
  EXPECT_EQ(train.dataset->info().class_names[12], "person");
  EXPECT_EQ(train.dataset->info().class_names.back(), "flag");
  EXPECT_EQ(expect_labels(train, root() + "/ADEChallengeData2016/expected/training").size(), 151u);
  const DataSplit val = split_from(config(150, "ade20k", "ADEChallengeData2016", "split = \"validation\"\n"));
  ASSERT_EQ(val.dataset->size(), 1u);
  expect_labels(val, root() + "/ADEChallengeData2016/expected/validation");

  const DataSplit outside = split_from(config(150, "ade20k", "ade20k_outside"));
  EXPECT_EQ(error_of([&] { outside.dataset->load(0); }),
            root() +
                "/ade20k_outside/annotations/training/ADE_train_00000009.png: label value 151 at (3, 2) is not an ADE20K "
                "annotation value (0 other, 1..150 the classes)");
  const std::string split = error_of([&] { split_from(config(150, "ade20k", "ADEChallengeData2016", "split = \"val\"\n")); });
  EXPECT_NE(split.find("data.train.split: invalid value \"val\"; valid values: \"training\", \"validation\""), std::string::npos)
      << split;
}

TEST_F(ToolboxDatasets, CocoStuff164kKeepsThe182IdsOrTheUsed171) {
  const DataSplit train = split_from(config(182, "cocostuff164k", "cocostuff164k"));
  ASSERT_EQ(train.dataset->size(), 2u);
  EXPECT_EQ(train.dataset->id(0), "000000000009");
  EXPECT_EQ(train.dataset->info().class_names[11], "street sign");
  EXPECT_EQ(train.dataset->info().class_names.back(), "wood");
  EXPECT_EQ(expect_labels(train, root() + "/cocostuff164k/expected/all182/train2017").size(), 183u);

  const DataSplit used = split_from(config(171, "cocostuff164k", "cocostuff164k", "label_mapping = \"used171\"\n"));
  EXPECT_EQ(used.dataset->info().class_names.size(), 171u);
  EXPECT_EQ(used.dataset->info().class_names[11], "stop sign");
  expect_labels(used, root() + "/cocostuff164k/expected/used171/train2017");

  const DataSplit listed = split_from(
      config(182, "cocostuff164k", "cocostuff164k", "list = \"" + root() + "/cocostuff164k/list/coco_stuff_164k_train.txt\"\n"));
  ASSERT_EQ(listed.dataset->size(), 2u);
  EXPECT_EQ(listed.dataset->id(0), "000000000025");
  const DataSplit val = split_from(config(182, "cocostuff164k", "cocostuff164k", "split = \"val2017\"\n"));
  expect_labels(val, root() + "/cocostuff164k/expected/all182/val2017");

  const DataSplit outside = split_from(config(182, "cocostuff164k", "cocostuff164k_outside"));
  EXPECT_EQ(error_of([&] { outside.dataset->load(0); }),
            root() +
                "/cocostuff164k_outside/annotations/train2017/000000000001.png: label value 200 at (1, 1) is not a "
                "COCO-Stuff-164k value (0..181 the classes, 255 unlabeled)");
  const std::string classes = error_of([&] { split_from(config(171, "cocostuff164k", "cocostuff164k")); });
  EXPECT_NE(classes.find("data.num_classes is 171 but label_mapping 'all182' gives 182 classes"), std::string::npos) << classes;
}

// The toolbox's VOC aug: grey SegmentationClassAug PNGs and its train_aug.txt for
// training, the palette SegmentationClass PNGs and val.txt for validation: the same labels.
TEST_F(ToolboxDatasets, VocAugListsAndGreyLabels) {
  const std::string voc = "VOCAug";
  const DataSplit train = split_from(
      config(21, "voc", voc, "split = \"" + root() + "/VOCAug/list/train_aug.txt\"\nlabel_dir = \"SegmentationClassAug\"\n"));
  ASSERT_EQ(train.dataset->size(), 2u);
  EXPECT_EQ(train.dataset->id(1), "2008_000008");
  const DataSplit palette = split_from(config(21, "voc", voc, "split = \"" + root() + "/VOCAug/list/train_aug.txt\"\n"));
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(same(train.dataset->load(i).label, palette.dataset->load(i).label)) << i;
    EXPECT_EQ(train.dataset->load(i).label.at<uchar>(0, 0), 255);
  }
  EXPECT_EQ(split_from(config(21, "voc", voc, "split = \"" + root() + "/VOCAug/list/val.txt\"\n")).dataset->id(0), "2011_003276");
}
