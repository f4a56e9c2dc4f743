// The evaluator against hand-computed confusion matrices and an independent numpy
// computation on PIL-written PNGs.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "data_test_support.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/evaluation/evaluation.hpp"
#include "segdistill/evaluation/evaluator.hpp"
#include "tolerance.hpp"

using namespace segdistill;
using namespace segdistill_test;

namespace {

at::Tensor tensor(std::vector<std::int64_t> values, std::int64_t rows) {
  const auto cols = static_cast<std::int64_t>(values.size()) / rows;
  return torch::tensor(values, torch::kLong).reshape({rows, cols});
}

// 5 classes, ignore 255. Class 2 is labelled but never predicted; class 3 is predicted
// only on a void pixel (which does not count); class 4 occurs nowhere.
//   label      prediction
//   0 0 1 1    0 1 1 1
//   0 2 2 255  0 0 1 3
//   255 1 1 2  2 1 0 0     <- the 255 pixels' predictions never count
Evaluator hand_example() {
  Evaluator e(5, 255);  // class 4: in neither labels nor predictions
  e.add(tensor({0, 1, 1, 1, 0, 0, 1, 3, 2, 1, 0, 0}, 3), tensor({0, 0, 1, 1, 0, 2, 2, 255, 255, 1, 1, 2}, 3));
  return e;
}

}  // namespace

TEST(Evaluator, ConfusionMatrixByHand) {
  const Evaluator e = hand_example();
  // rows = label, columns = prediction
  // Pixel by pixel: (0,0) 0->0, (0,1) 0->1, (0,2) 1->1, (0,3) 1->1, (1,0) 0->0,
  // (1,1) 2->0, (1,2) 2->1, (1,3) ignore, (2,0) ignore, (2,1) 1->1, (2,2) 1->0, (2,3) 2->0.
  const std::vector<std::int64_t> by_pixel{2, 1, 0, 0, 0, 1, 3, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(e.confusion(), by_pixel);
}

TEST(Evaluator, MetricsAndTheThreeMeanRulesByHand) {
  const Metrics m = hand_example().metrics(MeanOver::Union);
  // class 0: TP 2, FP 1+2=3, FN 1 -> IoU 2/6; acc 2/3
  // class 1: TP 3, FP 1+1=2, FN 1 -> IoU 3/6; acc 3/4
  // class 2: TP 0, FP 0, FN 3 -> IoU 0; acc 0
  // class 3, 4: no union
  EXPECT_DOUBLE_EQ(m.classes[0].iou, 2.0 / 6);
  EXPECT_DOUBLE_EQ(m.classes[1].iou, 3.0 / 6);
  EXPECT_DOUBLE_EQ(m.classes[2].iou, 0.0);
  EXPECT_TRUE(std::isnan(m.classes[3].iou));
  EXPECT_EQ(m.classes[0].fp, 3);
  EXPECT_EQ(m.classes[1].fn, 1);
  EXPECT_EQ(m.classes[2].gt_pixels, 3);
  EXPECT_DOUBLE_EQ(m.miou, (2.0 / 6 + 3.0 / 6 + 0.0) / 3);
  EXPECT_DOUBLE_EQ(m.macc, (2.0 / 3 + 3.0 / 4 + 0.0) / 3);
  EXPECT_DOUBLE_EQ(m.aacc, 5.0 / 10);
  EXPECT_DOUBLE_EQ(m.fwiou, 3.0 / 10 * 2.0 / 6 + 4.0 / 10 * 3.0 / 6);
  EXPECT_EQ(m.pixels, 10);
  EXPECT_EQ(m.left_out, (std::vector<std::int64_t>{3, 4}));

  const Metrics all = hand_example().metrics(MeanOver::All);
  EXPECT_DOUBLE_EQ(all.miou, (2.0 / 6 + 3.0 / 6) / 5);
  EXPECT_TRUE(all.left_out.empty());
  const Metrics present = hand_example().metrics(MeanOver::Present);
  EXPECT_DOUBLE_EQ(present.miou, m.miou);  // classes 0-2 have ground truth
}

TEST(Evaluator, PredictedButNeverLabelledCountsUnderUnionNotPresent) {
  Evaluator e(3, 255);
  e.add(tensor({0, 0, 2, 2}, 1), tensor({0, 0, 0, 1}, 1));
  // class 0: TP 2 FN 1 -> 2/3; class 1: FN 1 -> 0; class 2: FP 2, never labelled -> 0
  EXPECT_DOUBLE_EQ(e.metrics(MeanOver::Union).miou, (2.0 / 3 + 0 + 0) / 3);
  EXPECT_DOUBLE_EQ(e.metrics(MeanOver::Present).miou, (2.0 / 3 + 0) / 2);
  EXPECT_EQ(e.metrics(MeanOver::Present).left_out, (std::vector<std::int64_t>{2}));
}

TEST(Evaluator, MergingEqualsAddingEverything) {
  Evaluator a(5, 255), b(5, 255), both(5, 255);
  const auto p1 = tensor({0, 1, 2, 3}, 2), l1 = tensor({0, 1, 1, 255}, 2);
  const auto p2 = tensor({4, 4, 0}, 1), l2 = tensor({4, 0, 0}, 1);
  a.add(p1, l1);
  b.add(p2, l2);
  both.add(p1, l1);
  both.add(p2, l2);
  a.merge(b);
  EXPECT_EQ(a.confusion(), both.confusion());
  // Tensors and OpenCV images give the same counts.
  Evaluator mats(5, 255);
  cv::Mat pm(2, 2, CV_8UC1), lm(2, 2, CV_8UC1);
  for (int i = 0; i < 4; ++i) {
    pm.at<uchar>(i / 2, i % 2) = static_cast<uchar>(p1.view(-1)[i].item<int64_t>());
    lm.at<uchar>(i / 2, i % 2) = static_cast<uchar>(l1.view(-1)[i].item<int64_t>());
  }
  mats.add(pm, lm);
  Evaluator first(5, 255);
  first.add(p1, l1);
  EXPECT_EQ(mats.confusion(), first.confusion());
}

TEST(Evaluator, BadValuesAreErrors) {
  Evaluator e(3, 255);
  try {
    e.add(tensor({0, 3}, 1), tensor({0, 1}, 1), "a.png");
    FAIL();
  } catch (const Error& err) {
    EXPECT_EQ(std::string(err.what()), "a.png: prediction value 3 outside [0, 3)");
  }
  EXPECT_NO_THROW(e.add(tensor({0, 7}, 1), tensor({0, 255}, 1)));  // ignored pixels may hold anything
  EXPECT_THROW(e.add(tensor({0, 1}, 1), tensor({0, 5}, 1)), Error);
  EXPECT_THROW(e.add(tensor({0, 1, 2}, 1), tensor({0, 1}, 1)), Error);
}

TEST(Evaluator, MatchesNumpyOnPilWrittenPngs) {
  TempDir dir;
  const std::string command = "/usr/bin/python3 " + std::string(SEGDISTILL_SOURCE_DIR) + "/tests/python/metrics_reference.py '" +
                              dir.path().string() + "' 12 7 3";
  ASSERT_EQ(std::system(command.c_str()), 0);
  std::ifstream in(dir.path() / "expected.json");
  const auto expected = nlohmann::json::parse(in);
  std::string names;
  for (int c = 0; c < 7; ++c) names += std::string(c ? ", " : "") + "\"c" + std::to_string(c) + "\"";
  const DataSplit split = split_from(
      "[data]\n[data.val]\ntype = \"folder\"\nroot = \"" + dir.path().string() + "\"\nclass_names = [" + names + "]\n", "val");
  EvalSection options = parse_options<EvalSection>(ConfigTable());
  const EvaluationResult result = evaluate_predictions((dir.path() / "preds").string(), split, options, 2);
  std::vector<std::int64_t> flat;
  for (const auto& row : expected["confusion"])
    for (const auto& v : row) flat.push_back(v.get<std::int64_t>());
  EXPECT_EQ(result.evaluator.confusion(), flat);
  const Metrics m = result.metrics;
  EXPECT_TRUE(segdistill_test::within("m.miou vs expected['mIoU_union'].get<double>()",
                                      std::abs((m.miou) - (expected["mIoU_union"].get<double>())), 1e-12));
  EXPECT_TRUE(segdistill_test::within("m.macc vs expected['mAcc'].get<double>()",
                                      std::abs((m.macc) - (expected["mAcc"].get<double>())), 1e-12));
  EXPECT_TRUE(segdistill_test::within("m.aacc vs expected['aAcc'].get<double>()",
                                      std::abs((m.aacc) - (expected["aAcc"].get<double>())), 1e-12));
  EXPECT_TRUE(segdistill_test::within("m.fwiou vs expected['fwIoU'].get<double>()",
                                      std::abs((m.fwiou) - (expected["fwIoU"].get<double>())), 1e-12));
  EXPECT_TRUE(segdistill_test::within(
      "result.evaluator.metrics(MeanOver::Present).miou vs expected['mIoU_pre",
      std::abs((result.evaluator.metrics(MeanOver::Present).miou) - (expected["mIoU_present"].get<double>())), 1e-12));
  EXPECT_TRUE(segdistill_test::within(
      "result.evaluator.metrics(MeanOver::All).miou vs expected['mIoU_all'].g",
      std::abs((result.evaluator.metrics(MeanOver::All).miou) - (expected["mIoU_all"].get<double>())), 1e-12));
  EXPECT_TRUE(segdistill_test::within(
      "result.evaluator.metrics(MeanOver::All).macc vs expected['mAcc_all'].g",
      std::abs((result.evaluator.metrics(MeanOver::All).macc) - (expected["mAcc_all"].get<double>())), 1e-12));
  for (std::size_t c = 0; c < 7; ++c) {
    if (expected["iou"][c].is_null())
      EXPECT_TRUE(std::isnan(m.classes[c].iou)) << c;
    else
      EXPECT_TRUE(segdistill_test::within("m.classes[c].iou vs expected['iou'][c].get<double>()",
                                          std::abs((m.classes[c].iou) - (expected["iou"][c].get<double>())), 1e-12))
          << c;
  }
}
