// The published comparison distillers (kd_width, at, fitnet_plain, ch) against an
// independent Python implementation of their published formulas
// (tests/python/comparison_reference.py), in float64 at odd sizes.
#include <gtest/gtest.h>
#include <cmath>

#include <torch/torch.h>

#include "model_test_support.hpp"
#include "segdistill/checkpoint/pytorch_checkpoint.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/distill/distiller.hpp"
#include "segdistill/plugin/registries.hpp"
#include "test_support.hpp"
#include "tolerance.hpp"

using namespace segdistill;
using segdistill_test::TempDir;

namespace {

class ComparisonDistillers : public segdistill_test::WithPlugins {
 protected:
  static void SetUpTestSuite() {
    TempDir dir;
    const std::string out = (dir.path() / "reference.pt").string();
    const std::string command =
        "/usr/bin/python3 " + std::string(SEGDISTILL_SOURCE_DIR) + "/tests/python/comparison_reference.py '" + out + "'";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    reference_ = new TensorDict(read_pytorch_state_dict(out, /*keep_dtypes=*/true).tensors);
  }
  static void TearDownTestSuite() { delete reference_; }

  // The distiller `table` on the reference's case `name`, whose loss and student gradient
  // must equal the reference's.
  static void expect_matches(const std::string& name, const std::string& table, const std::string& term) {
    const TensorDict& r = *reference_;
    const at::Tensor fs = r.at(name + ".fs").clone().requires_grad_(), ft = r.at(name + ".ft");
    SharedModules shared;
    const std::int64_t stride = 4;
    DistillerContext context{"distillers.0", {{"s", fs.size(1), stride}}, {{"t", ft.size(1), stride}}, 21, &shared};
    const Config config = Config::parse("d = " + table + "\n", "comparison.toml");
    auto distiller = distillers().create(config.root().table("d"), context);
    const at::Tensor loss = distiller->distill({fs}, {ft}).at(term);
    loss.backward();
    const double expected = r.at(name + ".loss").item<double>();
    EXPECT_TRUE(segdistill_test::within("loss.item<double>() vs expected", std::abs((loss.item<double>()) - (expected)),
                                        1e-9 * std::abs(expected)))
        << name;
    const at::Tensor& grad = r.at(name + ".grad_fs");
    EXPECT_LT(((fs.grad() - grad).abs().max() / grad.abs().max()).item<double>(), 1e-9) << name;
  }
  static TensorDict* reference_;
};
TensorDict* ComparisonDistillers::reference_ = nullptr;

}  // namespace

TEST_F(ComparisonDistillers, KdAlongTheWidthIsThePublishedOne) {
  expect_matches("kd_width", "{type = \"kd_width\"}", "kd_width");
}
TEST_F(ComparisonDistillers, AttentionMapsArePublishedOnes) {
  expect_matches("at", "{type = \"at\"}", "at");
  expect_matches("at_pooled", "{type = \"at\"}", "at");  // the taller teacher map pooled to the student's
}
TEST_F(ComparisonDistillers, PlainFitNetIsThePublishedOne) {
  expect_matches("fitnet_plain", "{type = \"fitnet_plain\"}", "fitnet_plain");
}
TEST_F(ComparisonDistillers, ChannelCorrelationPerPatchIsThePublishedOne) {
  expect_matches("ch", "{type = \"ch\", patches = [8, 3]}", "ch");
}

TEST_F(ComparisonDistillers, ShapesTheyCannotCompareAreErrorsNamingTheKey) {
  SharedModules shared;
  DistillerContext context{"distillers.2", {{"head.decoder", 64, 4}}, {{"head.decoder", 256, 4}}, 21, &shared};
  for (const char* type : {"kd_width", "fitnet_plain", "ch"}) {
    const Config config = Config::parse(std::string("d = {type = \"") + type + "\"}\n", "comparison.toml");
    const std::string message = segdistill_test::error_of([&] { distillers().create(config.root().table("d"), context); });
    EXPECT_NE(message.find("distillers.2"), std::string::npos) << message;
    EXPECT_NE(message.find("64 channels"), std::string::npos) << message;
  }
}
