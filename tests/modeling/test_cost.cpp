// analyze-model's counts: multiply-adds equal a count by hand, layer by layer; parameters
// are each tensor once (MobileNetV2 shares modules under two names); the command reports
// the model and the teacher and names a bad input size.
#include <gtest/gtest.h>

#include <unordered_set>

#include <nlohmann/json.hpp>

#include "model_test_support.hpp"
#include "segdistill/config/config.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/modeling/cost.hpp"
#include "test_support.hpp"

using namespace segdistill;
using segdistill_test::contains;
using segdistill_test::make_model;
using segdistill_test::run_segdistill;
using segdistill_test::TempDir;

namespace {

// Multiply-adds of a k x k convolution from `in` to `out` channels giving `positions` outputs.
std::int64_t conv(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t positions) {
  return positions * out * in * k * k;
}

const ModuleCost& row(const NetworkCost& cost, const std::string& name) {
  for (const auto& r : cost.modules)
    if (r.name == name) return r;
  throw std::runtime_error("no row " + name);
}

}  // namespace

class Cost : public segdistill_test::WithPlugins {};

TEST_F(Cost, ResNet18FcnMultiplyAddsEqualAHandCount) {
  // ResNet-18 at width 0.25 (C = 16), output stride 16, a 64 x 64 image; FCN head of 8 channels, 5 classes.
  auto model = make_model("resnet18", 16, 0.25, 5, "{type = \"fcn\", channels = 8}");
  const std::int64_t C = 16;
  const std::int64_t stem = conv(3, C, 7, 32 * 32);        // stride 2: 32 x 32
  const std::int64_t layer1 = 4 * conv(C, C, 3, 16 * 16);  // after the max-pool: 16 x 16
  const std::int64_t layer2 = conv(C, 2 * C, 3, 8 * 8) + 3 * conv(2 * C, 2 * C, 3, 8 * 8) + conv(C, 2 * C, 1, 8 * 8);
  const std::int64_t layer3 = conv(2 * C, 4 * C, 3, 4 * 4) + 3 * conv(4 * C, 4 * C, 3, 4 * 4) + conv(2 * C, 4 * C, 1, 4 * 4);
  // Dilated, stride 1: still 4 x 4.
  const std::int64_t layer4 = conv(4 * C, 8 * C, 3, 4 * 4) + 3 * conv(8 * C, 8 * C, 3, 4 * 4) + conv(4 * C, 8 * C, 1, 4 * 4);
  const std::int64_t head = conv(8 * C, 8, 3, 4 * 4) + conv(8, 5, 1, 4 * 4);
  EXPECT_EQ(stem + layer1 + layer2 + layer3 + layer4 + head, 17498752);  // the sum worked out on paper

  const NetworkCost cost = measure_cost(*model, 64, 64, 2);
  EXPECT_EQ(cost.multiply_adds, stem + layer1 + layer2 + layer3 + layer4 + head);
  EXPECT_EQ(cost.unattributed_multiply_adds, 0);
  EXPECT_EQ(row(cost, "backbone.conv1").multiply_adds, stem);
  EXPECT_EQ(row(cost, "backbone.layer1").multiply_adds, layer1);
  EXPECT_EQ(row(cost, "backbone.layer2").multiply_adds, layer2);
  EXPECT_EQ(row(cost, "backbone.layer3").multiply_adds, layer3);
  EXPECT_EQ(row(cost, "backbone.layer4").multiply_adds, layer4);
  EXPECT_EQ(row(cost, "backbone").multiply_adds, stem + layer1 + layer2 + layer3 + layer4);
  EXPECT_EQ(row(cost, "fcn").multiply_adds, head);
  EXPECT_EQ(row(cost, "").multiply_adds, cost.multiply_adds);
  // Parameters: the 3x3 head conv by hand, and the whole network equal to its tensors.
  EXPECT_EQ(row(cost, "fcn.conv").parameters, 8 * 8 * C * 3 * 3);
  std::int64_t all = 0;
  for (const auto& p : model->parameters()) all += p.numel();
  EXPECT_EQ(cost.parameters, all);
  EXPECT_EQ(row(cost, "backbone").parameters + row(cost, "fcn").parameters, all);
  // The network is left as it was found.
  EXPECT_TRUE(model->is_training());
}

// The CIRKD toolbox's PSPNet-ResNet-18 with its auxiliary head (19 classes) on a 64 x 64
// image: the deep stem at 32 x 32, layer1 at 16 x 16, the rest at 8 x 8 (output stride 8);
// its parameters are the toolbox's count (cirkd_pspnet_resnet18_keys.txt).
TEST_F(Cost, ToolboxPspNetResNet18EqualsAHandCount) {
  const auto config = Config::parse(
      "[model]\nnum_classes = 19\nbackbone_key = \"pretrained\"\nbackbone = {type = \"resnet18_v1s\"}\n"
      "head = {type = \"cirkd_psp\", aux = true}\n",
      "psp.toml");
  auto model = std::make_shared<Segmentor>(config.root().table("model"));
  const std::int64_t stem = conv(3, 64, 3, 32 * 32) + conv(64, 64, 3, 32 * 32) + conv(64, 128, 3, 32 * 32);
  // layer1.0 reads the stem's 128 channels (and has a downsample for them).
  const std::int64_t layer1 = conv(128, 64, 3, 256) + conv(128, 64, 1, 256) + 3 * conv(64, 64, 3, 256);
  const auto stage = [](std::int64_t in, std::int64_t out) {  // at 8 x 8: first conv, downsample, three more
    return conv(in, out, 3, 64) + conv(in, out, 1, 64) + 3 * conv(out, out, 3, 64);
  };
  const std::int64_t backbone = stem + layer1 + stage(64, 128) + stage(128, 256) + stage(256, 512);
  // The pyramid's 1x1 convolutions on 1, 2 x 2, 3 x 3 and 6 x 6 pooled maps; the block on
  // [c4, 4 x 128] = 1024 channels.
  const std::int64_t head = conv(512, 128, 1, 1 + 4 + 9 + 36) + conv(1024, 128, 3, 64) + conv(128, 19, 1, 64);
  const std::int64_t aux = conv(256, 64, 3, 64) + conv(64, 19, 1, 64);
  EXPECT_EQ(backbone + head + aux, 957386752);  // the sum worked out on paper

  const NetworkCost cost = measure_cost(*model, 64, 64, 2);
  EXPECT_EQ(cost.multiply_adds, backbone + head + aux);
  EXPECT_EQ(row(cost, "pretrained").multiply_adds, backbone);
  EXPECT_EQ(row(cost, "head").multiply_adds, head);
  EXPECT_EQ(row(cost, "auxlayer").multiply_adds, aux);
  EXPECT_EQ(cost.parameters, 12919334);
}

TEST_F(Cost, SharedModulesCountOnce) {
  auto model = make_model("mobilenetv2", 16, 0.5, 4);
  const NetworkCost small = measure_cost(*model, 64, 64, 1);
  std::int64_t unique = 0;
  {
    std::unordered_set<const void*> seen;
    for (const auto& p : model->parameters())
      if (seen.insert(p.data_ptr()).second) unique += p.numel();
  }
  EXPECT_EQ(small.parameters, unique);
  std::int64_t rows = 0, macs = 0;
  for (const auto& r : small.modules)
    if (r.depth == 1) rows += r.parameters, macs += r.multiply_adds;
  EXPECT_EQ(rows, unique) << "a tensor counted under two names";
  EXPECT_EQ(macs, small.multiply_adds);
  EXPECT_THROW(measure_cost(*model, 0, 64), Error);
}

TEST_F(Cost, FourTimesThePixelsIsFourTimesTheWork) {
  // 128 and 64 are multiples of every stride, so no rounding of output sizes. (Not for
  // MobileNetV2: as published, its blocks pad the input before the 1x1 expansion.)
  auto model = make_model("resnet18", 16, 0.25, 4);
  const NetworkCost small = measure_cost(*model, 64, 64, 2), large = measure_cost(*model, 128, 128, 2);
  // Except ASPP's image-level branch: one position always.
  const std::int64_t pooled = row(small, "aspp.global_avg_pool").multiply_adds;
  EXPECT_EQ(row(large, "aspp.global_avg_pool").multiply_adds, pooled);
  EXPECT_GT(pooled, 0);
  EXPECT_EQ(large.multiply_adds - pooled, 4 * (small.multiply_adds - pooled));
}

TEST_F(Cost, AnalyzeModelReportsModelAndTeacher) {
  TempDir dir;
  dir.write("kd.toml",
            "[model]\nnum_classes = 5\nbackbone = {type = \"resnet18\", output_stride = 16, width = 0.25}\n"
            "head = {type = \"fcn\", channels = 8}\n"
            "[teacher]\nbackbone = {type = \"resnet18\", output_stride = 16, width = 0.5}\n"
            "head = {type = \"fcn\", channels = 16}\n");
  const auto r = run_segdistill({"analyze-model", (dir.path() / "kd.toml").string(), "--input", "64x64", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report["model"]["multiply_adds"].get<std::int64_t>(), 17498752);
  EXPECT_GT(report["teacher"]["multiply_adds"].get<std::int64_t>(), 3 * 17498752);
  EXPECT_EQ(report["input"], nlohmann::json({64, 64}));
  const auto table = run_segdistill({"analyze-model", (dir.path() / "kd.toml").string(), "--input", "64", "--depth", "1"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_TRUE(contains(table.out, "[model] at 64x64")) << table.out;
  EXPECT_TRUE(contains(table.out, "[teacher] at 64x64")) << table.out;
  EXPECT_TRUE(contains(table.out, "17.50 M multiply-adds")) << table.out;
  const auto bad = run_segdistill({"analyze-model", (dir.path() / "kd.toml").string(), "--input", "64y64"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(contains(bad.err, "--input 64y64: expected HxW")) << bad.err;
}
