// The example distiller of the plugin guide (plugins/examples/attention_transfer), built
// in-tree and used through the registry like any other distiller.
#include <gtest/gtest.h>
#include <cmath>

#include <torch/torch.h>

#include "segdistill/config/config.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/distill/assembly.hpp"
#include "segdistill/distill/distiller.hpp"
#include "segdistill/plugin/loader.hpp"
#include "segdistill/plugin/registries.hpp"
#include "test_support.hpp"
#include "tolerance.hpp"
#include "toolbox_lcg.hpp"

using namespace segdistill;

namespace {

std::shared_ptr<Distiller> attention_transfer(std::int64_t student_channels, std::int64_t teacher_channels,
                                              const std::string& options = "") {
  PluginLoader::instance().load_directory(SEGDISTILL_BUILD_PLUGIN_DIR_FOR_TESTS);
  const DistillerContext context{"distillers.0", {{"s", student_channels, 8}}, {{"t", teacher_channels, 8}}, 6, nullptr};
  const Config config = Config::parse("at = {type = \"attention_transfer\"" + options + "}\n", "at.toml");
  return distillers().create(config.root().table("at"), context);
}

at::Tensor loss(Distiller& d, const at::Tensor& s, const at::Tensor& t) { return d.distill({s}, {t}).at("attention_transfer"); }

TEST(ExampleAttentionTransfer, HandComputedMapsOfDifferentChannelCounts) {
  auto d = attention_transfer(1, 3);
  // Student map [1, 0]; teacher map mean_c(f^2) = [0, 3]: normalised [1, 0] and [0, 1],
  // squared distance 2.
  const at::Tensor s = torch::tensor({1.0f, 0.0f}).view({1, 1, 1, 2});
  const at::Tensor t = torch::tensor({0.0f, 1.0f, 0.0f, 2.0f, 0.0f, 1.0f}).view({1, 3, 1, 2});
  EXPECT_TRUE(
      segdistill_test::within("loss(*d, s, t).item<double>() vs 2.0", std::abs((loss(*d, s, t).item<double>()) - (2.0)), 1e-6));
}

TEST(ExampleAttentionTransfer, IgnoresScaleAndComparesAtTheTeachersResolution) {
  auto d = attention_transfer(4, 8);
  torch::manual_seed(0);
  const at::Tensor t = torch::randn({2, 8, 6, 6});
  const at::Tensor s = torch::randn({2, 4, 6, 6});
  const double base = loss(*d, s, t).item<double>();
  EXPECT_GT(base, 1e-3);
  EXPECT_TRUE(segdistill_test::within("loss(*d, 3.0 * s, t).item<double>() vs base",
                                      std::abs((loss(*d, 3.0 * s, t).item<double>()) - (base)), 1e-5 * base));
  // Constant maps agree at any resolution.
  EXPECT_TRUE(segdistill_test::within(
      "loss(*d, torch::ones({2, 4, 3, 3}), torch::ones({2, 8, 6, 6})).item<do",
      std::abs((loss(*d, torch::ones({2, 4, 3, 3}), torch::ones({2, 8, 6, 6})).item<double>()) - (0.0)), 1e-10));
}

TEST(ExampleAttentionTransfer, GradientReachesTheStudentAndPChangesTheMap) {
  torch::manual_seed(1);
  const at::Tensor s = torch::randn({1, 4, 5, 5}).requires_grad_();
  const at::Tensor t = torch::randn({1, 4, 5, 5});
  auto p2 = attention_transfer(4, 4);
  auto p4 = attention_transfer(4, 4, ", p = 4.0");
  const at::Tensor l2 = loss(*p2, s, t);
  l2.backward();
  EXPECT_GT(s.grad().abs().max().item<double>(), 0.0);
  EXPECT_GT(std::abs(loss(*p4, s, t).item<double>() - l2.item<double>()), 1e-6);
}

TEST(ExampleAttentionTransfer, OptionOutOfRangeIsAnError) {
  try {
    attention_transfer(4, 4, ", p = 20.0");
    FAIL() << "p = 20 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("p"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("8"), std::string::npos) << e.what();
  }
}

}  // namespace

// The CWD example (plugins/examples/channel_wise), the second distiller of the guide.
namespace {

std::shared_ptr<Distiller> channel_wise(std::int64_t student_channels, std::int64_t teacher_channels,
                                        const std::string& options = "") {
  PluginLoader::instance().load_directory(SEGDISTILL_BUILD_PLUGIN_DIR_FOR_TESTS);
  const DistillerContext context{"distillers.0", {{"s", student_channels, 1}}, {{"t", teacher_channels, 1}}, 5, nullptr};
  const Config config = Config::parse("d = {type = \"channel_wise\"" + options + "}\n", "cwd.toml");
  return distillers().create(config.root().table("d"), context);
}

TEST(ExampleChannelWise, ReproducesTheToolboxReferenceValueT4) {
  auto d = channel_wise(5, 5);
  d->to(torch::kDouble);
  const at::Tensor s = segdistill_test::toolbox_lcg({2, 5, 3, 4}, 1, 3), t = segdistill_test::toolbox_lcg({2, 5, 3, 4}, 1001, 3);
  const double value = d->distill({s}, {t}).at("channel_wise").item<double>();
  // The facts' value is the toolbox's float32 result printed to 8 digits; ours is float64.
  EXPECT_TRUE(segdistill_test::within("channel_wise T4 vs 2.4961014 (relative)", std::abs(value / 2.4961014 - 1), 1e-6));
}

TEST(ExampleChannelWise, DifferentChannelCountsGoThroughATrainedConvAndDivideByTheStudents) {
  auto d = channel_wise(3, 6, ", temperature = 2.0");
  d->to(torch::kDouble);
  const auto parameters = d->named_parameters();
  ASSERT_TRUE(parameters.contains("align.weight"));
  ASSERT_EQ(parameters["align.weight"].sizes(), (std::vector<std::int64_t>{6, 3, 1, 1}));
  const at::Tensor s = segdistill_test::toolbox_lcg({2, 3, 4, 5}, 7).requires_grad_(),
                   t = segdistill_test::toolbox_lcg({2, 6, 4, 5}, 501);
  const at::Tensor loss = d->distill({s}, {t}).at("channel_wise");
  // An independent computation of the formula: per (n, c), KL over the 20 positions.
  const at::Tensor aligned = torch::conv2d(s.detach(), parameters["align.weight"].detach());
  double sum = 0;
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t c = 0; c < 6; ++c) {
      const at::Tensor p_t = torch::softmax(t[n][c].flatten() / 2.0, 0);
      const at::Tensor log_p_s = torch::log_softmax(aligned[n][c].flatten() / 2.0, 0);
      sum += (p_t * (p_t.log() - log_p_s)).sum().item<double>();
    }
  const double expected = sum * 4.0 / (2 * 3);  // T^2 / (N C_student)
  EXPECT_TRUE(
      segdistill_test::within("channel_wise vs the formula (relative)", std::abs(loss.item<double>() / expected - 1), 1e-12));
  loss.backward();
  EXPECT_GT(s.grad().abs().max().item<double>(), 0.0);
  EXPECT_GT(parameters["align.weight"].grad().abs().max().item<double>(), 0.0);
  // Equal channel counts need no conv: no parameters.
  EXPECT_TRUE(channel_wise(4, 4)->parameters().empty());
}

}  // namespace

namespace {

// The engine hands a distiller exactly the features it declared; one missing from the
// forward pass is an error naming the distiller, its key and the features there are.
TEST(DistillStep, HandsTheDeclaredFeaturesAndNamesAMissingOne) {
  AssembledDistiller d;
  d.config_key = "distillers.1";
  d.type = "channel_wise";
  d.module = channel_wise(4, 4);
  d.student_features = {"head.decoder"};
  d.teacher_features = {"logits"};
  const at::Tensor s = torch::randn({1, 4, 3, 3}), t = torch::randn({1, 4, 3, 3});
  const FeatureMap student{{"head.decoder", s}, {"logits", torch::zeros({1, 4, 3, 3})}};
  const FeatureMap teacher{{"logits", t}, {"head.decoder", torch::zeros({1, 4, 3, 3})}};
  EXPECT_TRUE(distill_step(d, student, teacher).at("channel_wise").equal(d.module->distill({s}, {t}).at("channel_wise")));
  const FeatureMap without{{"backbone.layer4", t}, {"head.aspp", t}};
  EXPECT_EQ(segdistill_test::error_of([&] { distill_step(d, student, without); }),
            "distillers.1.teacher_feature ('channel_wise'): the teacher's forward pass has no feature 'logits'; it has: "
            "backbone.layer4, head.aspp");
}

}  // namespace
