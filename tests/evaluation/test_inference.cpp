// Whole, slide, multi-scale and flip inference.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "model_test_support.hpp"
#include "segdistill/evaluation/inference.hpp"
#include "tolerance.hpp"

using namespace segdistill;
using segdistill_test::make_model;

namespace {
EvalSection options(const std::string& toml = "") {
  return parse_options<EvalSection>(Config::parse("[eval]\n" + toml, "eval.toml").root().table("eval"));
}
}  // namespace

class Inference : public segdistill_test::WithPlugins {};

TEST_F(Inference, WholePadsToTheOutputStrideAndCropsBack) {
  auto model = make_model("resnet18", 16, 0.25, 4);
  torch::manual_seed(0);
  const auto images = torch::randn({1, 3, 37, 45});
  const auto logits = infer_logits(*model, images, options());
  EXPECT_EQ(logits.sizes(), (std::vector<std::int64_t>{1, 4, 37, 45}));
  // The same as running the padded image by hand.
  torch::NoGradGuard no_grad;
  model->eval();
  const auto padded = torch::nn::functional::pad(images, torch::nn::functional::PadFuncOptions({0, 3, 0, 11}));
  const auto by_hand = model->forward(padded).logits.narrow(2, 0, 37).narrow(3, 0, 45);
  EXPECT_TRUE(segdistill_test::allclose("logits vs by_hand", logits, by_hand, 1e-5, 1e-6));
}

TEST_F(Inference, SlideEqualsWholeOnAnImageSmallerThanTheCrop) {
  auto model = make_model("mobilenetv2", 16, 0.5, 3);
  const auto images = torch::randn({2, 3, 50, 40});
  const auto whole = infer_logits(*model, images, options());
  const auto slide = infer_logits(*model, images, options("mode = \"slide\"\ncrop = [64, 64]\nstride = [32, 32]\n"));
  EXPECT_TRUE(torch::equal(whole, slide));
}

TEST_F(Inference, SlideAveragesOverlappingWindows) {
  auto model = make_model("resnet18", 16, 0.25, 3);
  const auto images = torch::randn({1, 3, 48, 80});
  const auto slide = infer_logits(*model, images, options("mode = \"slide\"\ncrop = [48, 48]\nstride = [48, 32]\n"));
  // Windows at x = 0 and x = 32: columns 32..47 are the mean of both.
  const auto left = infer_logits(*model, images.narrow(3, 0, 48), options());
  const auto right = infer_logits(*model, images.narrow(3, 32, 48), options());
  EXPECT_TRUE(segdistill_test::allclose("slide.narrow(3, 0, 32) vs left.narrow(3, 0, 32)", slide.narrow(3, 0, 32),
                                        left.narrow(3, 0, 32), 1e-5, 1e-6));
  EXPECT_TRUE(segdistill_test::allclose("slide.narrow(3, 48, 32) vs right.narrow(3, 16, 32)", slide.narrow(3, 48, 32),
                                        right.narrow(3, 16, 32), 1e-5, 1e-6));
  EXPECT_TRUE(segdistill_test::allclose("slide.narrow(3, 32, 16) vs (left.narrow(3, 32, 16) + right.narrow(3, 0",
                                        slide.narrow(3, 32, 16), (left.narrow(3, 32, 16) + right.narrow(3, 0, 16)) / 2, 1e-5,
                                        1e-6));
}

TEST_F(Inference, FlipAveragesTheMirroredPrediction) {
  auto model = make_model("resnet18", 16, 0.25, 3);
  const auto images = torch::randn({1, 3, 32, 48});
  const auto plain = infer_logits(*model, images, options());
  const auto mirrored = infer_logits(*model, images.flip({3}), options());
  const auto flipped = infer_logits(*model, images, options("flip = true\n"));
  EXPECT_TRUE(segdistill_test::allclose("flipped vs (plain + mirrored.flip({3})) / 2", flipped, (plain + mirrored.flip({3})) / 2,
                                        1e-5, 1e-6));
  // On a mirror-symmetric image the flip-averaged logits are mirror-symmetric.
  const auto symmetric = torch::cat({images.narrow(3, 0, 24), images.narrow(3, 0, 24).flip({3})}, 3);
  const auto out = infer_logits(*model, symmetric, options("flip = true\n"));
  EXPECT_TRUE(segdistill_test::allclose("out vs out.flip({3})", out, out.flip({3}), 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(plain, plain.flip({3}), 1e-3, 1e-3));  // without flip it is not
}

TEST_F(Inference, ScalesAverageLogitsResizedBack) {
  auto model = make_model("resnet18", 16, 0.25, 3);
  const auto images = torch::randn({1, 3, 64, 64});
  namespace F = torch::nn::functional;
  const auto both = infer_logits(*model, images, options("scales = [0.5, 1.0]\n"));
  const auto full = infer_logits(*model, images, options());
  const auto half_input = F::interpolate(
      images, F::InterpolateFuncOptions().size(std::vector<int64_t>{32, 32}).mode(torch::kBilinear).align_corners(false));
  const auto half =
      F::interpolate(infer_logits(*model, half_input, options()),
                     F::InterpolateFuncOptions().size(std::vector<int64_t>{64, 64}).mode(torch::kBilinear).align_corners(false));
  EXPECT_TRUE(segdistill_test::allclose("both vs (full + half) / 2", both, (full + half) / 2, 1e-5, 1e-6));
}
