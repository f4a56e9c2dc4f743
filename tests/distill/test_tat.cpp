// The TaT distillers against an independent per-sample Python implementation of the
// published formula (tests/python/tat_reference.py), in float64.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "model_test_support.hpp"
#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/checkpoint/pytorch_checkpoint.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/distill/distiller.hpp"
#include "segdistill/plugin/registries.hpp"
#include "test_support.hpp"
#include "tolerance.hpp"

using namespace segdistill;
using segdistill_test::TempDir;

namespace {

struct Reference {
  TensorDict t;
  std::int64_t at(std::size_t i) const {
    return static_cast<std::int64_t>(t.at("setting")[static_cast<std::int64_t>(i)].item<double>());
  }
};

// Another attention arrangement than the published runs': the reference's arguments and
// the distillers' options that mean the same.
struct Variant {
  std::string python_args;                // e.g. "--attention batch --heads 4"
  std::string patch_group, anchor_point;  // TOML keys added to each distiller's table
};

// mode: "" (BatchNorm in eval mode), "--train-per-sample" or "--train-batched".
Reference reference(const std::string& setting, const std::string& mode = "", const Variant& variant = {}) {
  TempDir dir;
  const std::string out = (dir.path() / "ref.pt").string();
  const std::string command = "/usr/bin/python3 " + std::string(SEGDISTILL_SOURCE_DIR) + "/tests/python/tat_reference.py '" +
                              out + "' --setting " + setting + " " + mode + " " + variant.python_args;
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  Reference r;
  r.t = read_pytorch_state_dict(out, /*keep_dtypes=*/true).tensors;  // the reference is float64
  return r;
}

struct Pair {
  std::shared_ptr<Distiller> patch_group, anchor_point;
  SharedModules shared;
};

std::unique_ptr<Pair> make_pair(const Reference& r, bool per_sample, const Variant& variant = {}) {
  PluginLoader::instance().load_directory(SEGDISTILL_BUILD_PLUGIN_DIR_FOR_TESTS);
  auto pair = std::make_unique<Pair>();
  DistillerContext context{"distillers.0", {{"s", r.at(1), 4}}, {{"t", r.at(2), 4}}, 21, &pair->shared};
  const std::string flag = per_sample ? "true" : "false";
  const Config config =
      Config::parse("pg = {type = \"tat_patch_group\", patches = [" + std::to_string(r.at(5)) + ", " + std::to_string(r.at(6)) +
                        "], heads = " + std::to_string(r.at(7)) + ", per_sample_embedding = " + flag + variant.patch_group +
                        "}\nap = {type = \"tat_anchor_point\", anchors = [" + std::to_string(r.at(8)) + ", " +
                        std::to_string(r.at(9)) + "], per_sample_embedding = " + flag + variant.anchor_point + "}\n",
                    "tat.toml");
  pair->patch_group = distillers().create(config.root().table("pg"), context);
  context.config_key = "distillers.1";
  pair->anchor_point = distillers().create(config.root().table("ap"), context);
  TensorDict weights;
  for (const auto& [name, tensor] : r.t)
    if (name.rfind("embed_", 0) == 0) weights[name] = tensor;
  pair->patch_group->to(torch::kDouble);
  load_state_dict(*pair->patch_group, weights, "reference");
  return pair;
}

// Relative difference of the largest entries. The floor serves gradients that are zero in
// exact arithmetic (a constant added to every key position leaves the softmax unchanged,
// so embed_key.norm.bias gets none): both sides are then float64 noise around 1e-17.
double relative(const at::Tensor& a, const at::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max().clamp_min(1e-10)).item<double>();
}

void expect_running_statistics_match(const Pair& pair, const Reference& r) {
  const TensorDict after = state_dict(*pair.patch_group);
  for (const char* name : {"embed_query.norm.running_mean", "embed_key.norm.running_var", "embed_value.norm.running_mean"})
    EXPECT_TRUE(segdistill_test::within("relative(after.at(name), r.t.at(std::string('after.') + name))",
                                        relative(after.at(name), r.t.at(std::string("after.") + name)), 1e-9))
        << name;
}

// Loss and gradients against the reference; with `training`, the BatchNorms normalise
// with the whole batch's statistics and the running statistics must move as the
// reference's did.
void expect_matches(const std::string& setting, bool training = false, const Variant& variant = {}) {
  const Reference r = reference(setting, training ? "--train-batched" : "", variant);
  auto pair = make_pair(r, false, variant);
  pair->patch_group->train(training);
  pair->anchor_point->train(training);
  const at::Tensor fs = r.t.at("fs").clone().requires_grad_();
  const at::Tensor ft = r.t.at("ft");
  const at::Tensor pg = pair->patch_group->distill({fs}, {ft}).at("tat_patch_group");
  const at::Tensor ap = pair->anchor_point->distill({fs}, {ft}).at("tat_anchor_point");
  const double beta = r.t.at("weights")[0].item<double>(), gamma = r.t.at("weights")[1].item<double>();
  (beta * pg + gamma * ap).backward();
  EXPECT_TRUE(segdistill_test::within("relative(pg, r.t.at('loss_pg'))", relative(pg, r.t.at("loss_pg")), 1e-5))
      << setting << " " << pg.item<double>() << " vs " << r.t.at("loss_pg").item<double>();
  EXPECT_TRUE(segdistill_test::within("relative(ap, r.t.at('loss_ap'))", relative(ap, r.t.at("loss_ap")), 1e-5)) << setting;
  EXPECT_TRUE(segdistill_test::within("relative(fs.grad(), r.t.at('grad.fs'))", relative(fs.grad(), r.t.at("grad.fs")), 1e-5))
      << setting;
  std::size_t compared = 0;
  for (const auto& p : pair->patch_group->named_parameters()) {
    const at::Tensor& expected = r.t.at("grad." + p.key());
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(segdistill_test::within("relative(p.value().grad(), expected)", relative(p.value().grad(), expected), 1e-5))
        << setting << " " << p.key();
    ++compared;
  }
  EXPECT_EQ(compared, 9u);  // conv2d.weight, norm.weight, norm.bias of the three embeddings
  if (training) expect_running_statistics_match(*pair, r);
}

}  // namespace

class Tat : public segdistill_test::WithPlugins {};

TEST_F(Tat, PublishedVocResNet18SettingMatchesThePerSampleFormula) { expect_matches("voc_r18"); }
TEST_F(Tat, PublishedVocMobileNetV2SettingMatchesThePerSampleFormula) { expect_matches("voc_mbv2"); }
TEST_F(Tat, OddSizesMatchThePerSampleFormula) { expect_matches("odd"); }
// The anchor cells tile the patches: the anchor-point term pools the rows the
// patch-group term reads (the published VOC shapes, 129 x 129, tile the same way).
TEST_F(Tat, AnchorCellsTilingPatchesMatchThePerSampleFormula) { expect_matches("tiled"); }
// Heads of 9 stacked channels cut through patches of 6 channels: the patch-group term
// cannot read heads as views of the row layout and takes the general path.
TEST_F(Tat, HeadsThatSplitPatchesMatchThePerSampleFormula) { expect_matches("split_heads"); }
// Training mode, statistics over the batch: the default when per_sample_embedding is
// false. Covers BatchNorm on the row layout (tiled: both terms read the rows; odd: the
// anchor grid does not tile the patches, so that term converts back; split_heads: the
// rows follow the anchor grid and the patch-group term converts back).
TEST_F(Tat, TrainingModeTiledAnchorsMatchBatchStatistics) { expect_matches("tiled", true); }
TEST_F(Tat, TiledAnchorsWithDroppedRowsMatchThePerSampleFormula) { expect_matches("tiled_leftover"); }
TEST_F(Tat, TrainingModeTiledAnchorsWithDroppedRowsMatchBatchStatistics) { expect_matches("tiled_leftover", true); }
TEST_F(Tat, TrainingModeOddSizesMatchBatchStatistics) { expect_matches("odd", true); }
TEST_F(Tat, TrainingModeSplitHeadsMatchBatchStatistics) { expect_matches("split_heads", true); }

// The published code's other attention types (attention = ...), odd sizes: each patch
// attending alone (batch: mean over patches; loop: sum), and windows of patches, here
// 2 x 3 patches every 2 rows and 1 column (overlapping), one head per window, with the
// anchor term split into as many heads as there are windows, as published.
TEST_F(Tat, BatchAttentionMatchesThePerSampleFormula) {
  expect_matches("odd", false, {"--attention batch --heads 4", ", attention = \"batch\"", ""});
  expect_matches("odd", true, {"--attention batch --heads 4", ", attention = \"batch\"", ""});
}
TEST_F(Tat, LoopAttentionMatchesThePerSampleFormula) {
  expect_matches("odd", false, {"--attention loop --heads 3", ", attention = \"loop\"", ""});
}
TEST_F(Tat, SpatialAttentionMatchesThePerSampleFormula) {
  expect_matches("odd", false,
                 {"--attention spatial --window 2 3 --window-stride 2 1 --anchor-heads 4",
                  ", attention = \"spatial\", window = [2, 3], window_stride = [2, 1]", ", heads = 4"});
  expect_matches(
      "split_heads", true,
      {"--attention spatial --window 1 2 --anchor-heads 2", ", attention = \"spatial\", window = [1, 2]", ", heads = 2"});
}

TEST_F(Tat, AttentionTypesCheckTheirShapes) {
  const Reference r = reference("odd");
  for (const auto& [options, expected] : std::vector<std::pair<std::string, std::string>>{
           {", attention = \"batch\"", "not divisible by heads = 8"},
           {", attention = \"spatial\", window = [5, 1]", "do not fit the 4 x 4 patch grid"},
           {", attention = \"ring\"", "ring"}}) {
    try {
      make_pair(r, false, {"", options, ""});
      ADD_FAILURE() << "no error for " << options;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  }
}

TEST_F(Tat, PerSampleEmbeddingInTrainingModeIsThePublishedQuirk) {
  const Reference r = reference("odd", "--train-per-sample");
  auto pair = make_pair(r, true);
  pair->patch_group->train();
  pair->anchor_point->train();
  const at::Tensor fs = r.t.at("fs").clone().requires_grad_();
  const at::Tensor pg = pair->patch_group->distill({fs}, {r.t.at("ft")}).at("tat_patch_group");
  const at::Tensor ap = pair->anchor_point->distill({fs}, {r.t.at("ft")}).at("tat_anchor_point");
  (r.t.at("weights")[0].item<double>() * pg + r.t.at("weights")[1].item<double>() * ap).backward();
  EXPECT_TRUE(segdistill_test::within("relative(pg, r.t.at('loss_pg'))", relative(pg, r.t.at("loss_pg")), 1e-5));
  EXPECT_TRUE(segdistill_test::within("relative(ap, r.t.at('loss_ap'))", relative(ap, r.t.at("loss_ap")), 1e-5));
  EXPECT_TRUE(segdistill_test::within("relative(fs.grad(), r.t.at('grad.fs'))", relative(fs.grad(), r.t.at("grad.fs")), 1e-5));
  // One embedding for both terms: the statistics moved once per sample, not twice.
  expect_running_statistics_match(*pair, r);
}

TEST_F(Tat, BothTermsShareOneSetOfEmbeddings) {
  const Reference r = reference("odd");
  auto pair = make_pair(r, false);
  const auto pg = pair->patch_group->named_parameters();
  const auto ap = pair->anchor_point->named_parameters();
  ASSERT_EQ(pg.size(), ap.size());
  for (const auto& p : pg) EXPECT_TRUE(p.value().is_same(ap[p.key()])) << p.key();
  EXPECT_TRUE(pg.contains("embed_query.conv2d.weight"));
  EXPECT_TRUE(pg.contains("embed_key.norm.weight"));
}

TEST_F(Tat, ClearErrorsForGridsAndHeads) {
  PluginLoader::instance().load_directory(SEGDISTILL_BUILD_PLUGIN_DIR_FOR_TESTS);
  SharedModules shared;
  DistillerContext context{"distillers.0", {{"head.decoder", 8, 4}}, {{"head.decoder", 12, 4}}, 21, &shared};
  const Config config = Config::parse(
      "a = {type = \"tat_patch_group\", patches = [4, 4], heads = 7}\n"
      "b = {type = \"tat_patch_group\", patches = [8, 8], heads = 4}\n"
      "c = {type = \"tat_anchor_point\", anchors = [16, 16]}\n",
      "tat.toml");
  try {
    distillers().create(config.root().table("a"), context);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "distillers.0.heads: 4 x 4 patches of 12 channels give 192 stacked channels, not divisible by heads = 7");
  }
  auto small = distillers().create(config.root().table("b"), context);
  const FeatureList s{torch::randn({1, 8, 6, 9})}, t{torch::randn({1, 12, 6, 9})};
  try {
    small->distill(s, t);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "distillers.0.patches: the feature is 6 x 9, smaller than the 8 x 8 patch grid");
  }
  SharedModules other;
  context.shared = &other;
  auto anchors = distillers().create(config.root().table("c"), context);
  EXPECT_THROW(anchors->distill(s, t), Error);
}
