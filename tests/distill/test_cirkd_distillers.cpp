// The CIRKD toolbox's distillers (plugins/distillers/cirkd) against an independent float64
// Python implementation of its formulas (tests/python/cirkd_reference.py) at odd sizes:
// loss, student gradients and module weight gradients; and against the reference values
// the toolbox itself computed (its facts, section 1.16).
#include <gtest/gtest.h>
#include <cmath>

#include <torch/torch.h>

#include "model_test_support.hpp"
#include "segdistill/checkpoint/pytorch_checkpoint.hpp"
#include "segdistill/config/config.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/distill/distiller.hpp"
#include "segdistill/plugin/registries.hpp"
#include "test_support.hpp"
#include "tolerance.hpp"
#include "toolbox_lcg.hpp"

using namespace segdistill;
using segdistill_test::TempDir;
using segdistill_test::toolbox_lcg;

namespace {

double relative(const at::Tensor& a, const at::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max().clamp_min(1e-300)).item<double>();
}

// A distiller of `table` built as the trainer builds it, on features of the given
// channel counts, in float64.
std::shared_ptr<Distiller> build(const std::string& table, const std::vector<std::int64_t>& student_channels,
                                 const std::vector<std::int64_t>& teacher_channels, SharedModules& shared) {
  DistillerContext context;
  context.config_key = "distillers.0";
  for (std::size_t i = 0; i < student_channels.size(); ++i) {
    context.student_features.push_back({"s" + std::to_string(i), student_channels[i], 8});
    context.teacher_features.push_back({"t" + std::to_string(i), teacher_channels[i], 8});
  }
  context.num_classes = 5;
  context.shared = &shared;
  const Config config = Config::parse("d = " + table + "\n", "cirkd.toml");
  auto distiller = distillers().create(config.root().table("d"), context);
  distiller->to(torch::kDouble);
  return distiller;
}

class CirkdDistillers : public segdistill_test::WithPlugins {
 protected:
  static void SetUpTestSuite() {
    TempDir dir;
    const std::string out = (dir.path() / "reference.pt").string();
    const std::string command =
        "/usr/bin/python3 " + std::string(SEGDISTILL_SOURCE_DIR) + "/tests/python/cirkd_reference.py '" + out + "'";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    reference_ = new TensorDict(read_pytorch_state_dict(out, /*keep_dtypes=*/true).tensors);
  }
  static void TearDownTestSuite() { delete reference_; }

  // The reference's case `name` (levels s0.., t0.., an optional module weight): the
  // distiller's loss `term`, the student gradients and the weight's gradient.
  static void expect_matches(const std::string& name, const std::string& table, const std::string& term) {
    const TensorDict& r = *reference_;
    FeatureList students, teachers;
    std::vector<std::int64_t> s_channels, t_channels;
    for (int i = 0; r.count(name + ".s" + std::to_string(i)); ++i) {
      students.push_back(r.at(name + ".s" + std::to_string(i)).clone().requires_grad_());
      teachers.push_back(r.at(name + ".t" + std::to_string(i)));
      s_channels.push_back(students.back().size(1));
      t_channels.push_back(teachers.back().size(1));
    }
    SharedModules shared;
    auto distiller = build(table, s_channels, t_channels, shared);
    const auto parameters = distiller->parameters();
    if (r.count(name + ".weight")) {
      ASSERT_EQ(parameters.size(), 1u) << name;
      torch::NoGradGuard no_grad;
      parameters[0].copy_(r.at(name + ".weight"));
    } else {
      EXPECT_TRUE(parameters.empty()) << name;
    }
    const at::Tensor loss = distiller->distill(students, teachers).at(term);
    loss.backward();
    EXPECT_TRUE(segdistill_test::within(name + " loss (relative)", relative(loss, r.at(name + ".loss")), 1e-10));
    for (std::size_t i = 0; i < students.size(); ++i)
      EXPECT_TRUE(segdistill_test::within(name + " student gradient " + std::to_string(i) + " (relative)",
                                          relative(students[i].grad(), r.at(name + ".grad.s" + std::to_string(i))), 1e-9));
    if (r.count(name + ".weight")) {
      EXPECT_TRUE(segdistill_test::within(name + " weight gradient (relative)",
                                          relative(parameters[0].grad(), r.at(name + ".grad.weight")), 1e-9));
    }
  }

  static TensorDict* reference_;
};
TensorDict* CirkdDistillers::reference_ = nullptr;

TEST_F(CirkdDistillers, KdIsTheToolboxs) {
  expect_matches("kd_t1", "{type = \"cirkd_kd\"}", "cirkd_kd");
  expect_matches("kd_t4", "{type = \"cirkd_kd\", temperature = 4.0}", "cirkd_kd");
}

TEST_F(CirkdDistillers, AttentionTransferAndFitNetAreTheToolboxs) {
  expect_matches("at", "{type = \"cirkd_at\"}", "cirkd_at");
  expect_matches("fitnet", "{type = \"cirkd_fitnet\"}", "cirkd_fitnet");
}

TEST_F(CirkdDistillers, CwdIsTheToolboxsWithAndWithoutItsConv) {
  expect_matches("cwd_equal", "{type = \"cirkd_cwd\"}", "cirkd_cwd");
  expect_matches("cwd_conv", "{type = \"cirkd_cwd\", temperature = 2.0}", "cirkd_cwd");
  expect_matches("cwd_log_softmax", "{type = \"cirkd_cwd\", student_log_softmax = true}", "cirkd_cwd");
}

TEST_F(CirkdDistillers, DoubleSimilarityTermsAreTheToolboxs) {
  expect_matches("csd", "{type = \"cirkd_csd\"}", "cirkd_csd");
  expect_matches("psd", "{type = \"cirkd_psd\"}", "cirkd_psd");
}

TEST_F(CirkdDistillers, StructuredAndMiniBatchSimilaritiesAreTheToolboxs) {
  expect_matches("skd", "{type = \"cirkd_skd\"}", "cirkd_skd");
  expect_matches("minibatch", "{type = \"cirkd_minibatch_pixel\"}", "cirkd_minibatch_pixel");
  // Maps of at least 256 x 256 are 4 x 4 average-pooled first (258 x 257: partial windows).
  expect_matches("minibatch_pooled", "{type = \"cirkd_minibatch_pixel\"}", "cirkd_minibatch_pixel");
  expect_matches("minibatch_v1", "{type = \"cirkd_minibatch_pixel\", temperature = 0.5, pool_large_maps = false}",
                 "cirkd_minibatch_pixel");
}

// The values the toolbox's own code gave (its facts, section 1.16), from float32 inputs of
// its generator. The facts print 8 significant digits (CSD: 6); ours is float64 on the
// same float32 inputs, so the difference is the toolbox's float32 rounding.
TEST_F(CirkdDistillers, ReproduceTheToolboxsReferenceValues) {
  SharedModules shared;
  const auto value = [&](const std::string& table, const FeatureList& s, const FeatureList& t, const std::string& term) {
    std::vector<std::int64_t> cs, ct;
    for (const auto& x : s) cs.push_back(x.size(1));
    for (const auto& x : t) ct.push_back(x.size(1));
    return build(table, cs, ct, shared)->distill(s, t).at(term).item<double>();
  };
  const auto expect_value = [](const std::string& what, double got, double expected, double bound) {
    EXPECT_TRUE(segdistill_test::within(what + " (relative)", std::abs(got / expected - 1), bound)) << got;
  };
  const at::Tensor t1_s = toolbox_lcg({2, 5, 3, 4}, 1, 3), t1_t = toolbox_lcg({2, 5, 3, 4}, 1001, 3);
  expect_value("T1 cirkd_kd vs 1.4712124", value("{type = \"cirkd_kd\"}", {t1_s}, {t1_t}, "cirkd_kd"), 1.4712124, 1e-6);
  expect_value("T1b cirkd_kd T=4 vs 2.0796249", value("{type = \"cirkd_kd\", temperature = 4.0}", {t1_s}, {t1_t}, "cirkd_kd"),
               2.0796249, 1e-6);
  const at::Tensor t2_s = toolbox_lcg({2, 3, 4, 5}, 1), t2_t = toolbox_lcg({2, 6, 4, 5}, 501);
  expect_value("T2 cirkd_at vs 0.015368609", value("{type = \"cirkd_at\"}", {t2_s}, {t2_t}, "cirkd_at"), 0.015368609, 1e-6);
  {
    auto fitnet = build("{type = \"cirkd_fitnet\"}", {3}, {6}, shared);
    torch::NoGradGuard no_grad;
    at::Tensor weight = fitnet->parameters()[0];
    for (std::int64_t o = 0; o < 6; ++o)
      for (std::int64_t i = 0; i < 3; ++i) weight[o][i][0][0] = 0.1 * std::cos(static_cast<double>(o + 2 * i));
    expect_value("T3 cirkd_fitnet vs 0.36062476", fitnet->distill({t2_s}, {t2_t}).at("cirkd_fitnet").item<double>(), 0.36062476,
                 1e-6);
  }
  expect_value("T4 cirkd_cwd vs 2.4961014", value("{type = \"cirkd_cwd\"}", {t1_s}, {t1_t}, "cirkd_cwd"), 2.4961014, 1e-6);
  expect_value("T5 cirkd_skd vs 0.065938622",
               value("{type = \"cirkd_skd\"}", {toolbox_lcg({2, 4, 5, 6}, 1)}, {toolbox_lcg({2, 8, 5, 6}, 401)}, "cirkd_skd"),
               0.065938622, 1e-6);
  const FeatureList t7_s{toolbox_lcg({2, 5, 3, 4}, 1, 2), toolbox_lcg({2, 4, 3, 4}, 201), toolbox_lcg({2, 5, 3, 4}, 401, 2)};
  const FeatureList t7_t{toolbox_lcg({2, 5, 3, 4}, 1001, 2), toolbox_lcg({2, 7, 3, 4}, 1201), toolbox_lcg({2, 5, 3, 4}, 1401, 2)};
  expect_value("T7 cirkd_psd vs 0.20268203", value("{type = \"cirkd_psd\"}", t7_s, t7_t, "cirkd_psd"), 0.20268203, 1e-6);
  expect_value("T7 cirkd_csd vs 1.36856e-05", value("{type = \"cirkd_csd\"}", {t7_s[2]}, {t7_t[2]}, "cirkd_csd"), 1.36856e-05,
               1e-5);
  expect_value("T8 cirkd_minibatch_pixel vs 3.3947928",
               value("{type = \"cirkd_minibatch_pixel\"}", {toolbox_lcg({2, 4, 3, 5}, 1)}, {toolbox_lcg({2, 6, 3, 5}, 401)},
                     "cirkd_minibatch_pixel"),
               3.3947928, 1e-6);
}

TEST_F(CirkdDistillers, WhatTheyCannotCompareIsAnErrorNamingTheEntry) {
  SharedModules shared;
  std::string message = segdistill_test::error_of([&] { build("{type = \"cirkd_kd\"}", {5}, {7}, shared); });
  EXPECT_NE(message.find("distillers.0: cirkd_kd compares class scores"), std::string::npos) << message;
  auto at = build("{type = \"cirkd_at\"}", {3}, {6}, shared);
  message = segdistill_test::error_of([&] {
    at->distill({torch::zeros({2, 3, 4, 4}, torch::kDouble)}, {torch::zeros({2, 6, 8, 8}, torch::kDouble)});
  });
  EXPECT_NE(message.find("distillers.0: cirkd_at needs N x C x H x W maps of one batch and one H x W"), std::string::npos)
      << message;
  EXPECT_NE(message.find("2 x 3 x 4 x 4"), std::string::npos) << message;
  message = segdistill_test::error_of([&] { build("{type = \"cirkd_psd\"}", {5}, {5}, shared); });
  EXPECT_NE(message.find("at least two"), std::string::npos) << message;
  EXPECT_TRUE(distillers().inputs("cirkd_psd").levels);
  EXPECT_EQ(distillers().inputs("cirkd_kd").defaults.student, std::vector<std::string>{"logits"});
}

}  // namespace
