// The example distiller of the plugin guide (plugins/examples/attention_transfer), built
// in-tree and used through the registry like any other distiller.
#include <gtest/gtest.h>
#include <cmath>

#include <torch/torch.h>

#include "segdistill/config/config.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/distill/distiller.hpp"
#include "segdistill/plugin/loader.hpp"
#include "segdistill/plugin/registries.hpp"
#include "tolerance.hpp"

using namespace segdistill;

namespace {

std::shared_ptr<Distiller> attention_transfer(std::int64_t student_channels, std::int64_t teacher_channels,
                                              const std::string& options = "") {
  PluginLoader::instance().load_directory(SEGDISTILL_BUILD_PLUGIN_DIR_FOR_TESTS);
  const DistillerContext context{"distillers.0", {"s", student_channels, 8},   {"t", teacher_channels, 8},  6,
                                 nullptr,        {{"s", student_channels, 8}}, {{"t", teacher_channels, 8}}};
  const Config config = Config::parse("at = {type = \"attention_transfer\"" + options + "}\n", "at.toml");
  return distillers().create(config.root().table("at"), context);
}

at::Tensor loss(Distiller& d, const at::Tensor& s, const at::Tensor& t) {
  return d.forward({{"s", s}, {"t", t}}, {{"t", t}}).at("attention_transfer");
}

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
