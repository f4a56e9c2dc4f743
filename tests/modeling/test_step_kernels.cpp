// The kernels written for the training step's speed: dropout with a hashed mask, bilinear
// resizing in one memory format both ways, BatchNorm of bf16 inputs by LibTorch's bf16
// kernel. Each must compute what the operation it replaces computes.
#include <gtest/gtest.h>

#include <cmath>

#include <torch/torch.h>

#include "segdistill/core/error.hpp"
#include "segdistill/modeling/batch_norm.hpp"
#include "segdistill/modeling/dropout.hpp"
#include "segdistill/modeling/resize.hpp"
#include "tolerance.hpp"

using namespace segdistill;

namespace {

// Binomial bound: the kept fraction of n elements lies within 6 standard deviations of
// 1 - p (a false failure about once in 10^9 runs).
double kept_fraction_bound(double p, std::int64_t n) { return 6.0 * std::sqrt(p * (1 - p) / static_cast<double>(n)); }

at::Tensor kept(const at::Tensor& y) { return y.ne(0); }

}  // namespace

TEST(HashedDropout, KeepsOneMinusPAndScalesTheRest) {
  for (const auto dtype : {at::kFloat, at::kBFloat16, at::kDouble}) {
    for (const double p : {0.1, 0.5, 0.9}) {
      torch::manual_seed(1);
      const at::Tensor x = torch::rand({4, 16, 65, 65}).add(0.5).to(dtype);  // no zeros: a zero out means dropped
      const at::Tensor y = apply_dropout(x, p, /*training=*/true);
      ASSERT_EQ(y.scalar_type(), dtype);
      const at::Tensor mask = kept(y);
      const double fraction = mask.to(at::kDouble).mean().item<double>();
      segdistill_test::expect_within("|kept fraction - (1 - p)|", std::abs(fraction - (1 - p)),
                                     kept_fraction_bound(p, x.numel()));
      // Kept elements are x / (1 - p), within two roundings to the dtype (the scale's and
      // the product's).
      const double epsilon = dtype == at::kDouble ? 0x1p-52 : dtype == at::kFloat ? 0x1p-23 : 0x1p-7;
      const at::Tensor expected = x.to(at::kDouble) / (1 - p);
      EXPECT_TRUE(segdistill_test::allclose("kept elements vs x / (1 - p)", y.to(at::kDouble).masked_select(mask),
                                            expected.masked_select(mask), 2 * epsilon, 0))
          << "dtype " << dtype << " p " << p;
    }
  }
}

TEST(HashedDropout, MaskDependsOnTheGeneratorAloneNotOnThreadsOrLayout) {
  const at::Tensor x = torch::ones({2, 8, 129, 129});
  const int threads = at::get_num_threads();
  torch::manual_seed(7);
  const at::Tensor a = apply_dropout(x, 0.5, true);
  const at::Tensor b = apply_dropout(x, 0.5, true);  // the next call draws another seed
  at::set_num_threads(1);
  torch::manual_seed(7);
  const at::Tensor c = apply_dropout(x, 0.5, true);
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(a, c)) << "the same generator state must give the same mask on 1 and " << threads << " threads";
  // Nor on the memory format: the mask follows the elements' logical indices.
  torch::manual_seed(7);
  const at::Tensor d = apply_dropout(x.contiguous(at::MemoryFormat::ChannelsLast), 0.5, true);
  EXPECT_TRUE(d.is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(torch::equal(a, d)) << "a channels-last input must get the NCHW input's mask";
  // Two calls' masks are independent: they agree on about half the elements.
  const double agree = kept(a).eq(kept(b)).to(at::kDouble).mean().item<double>();
  segdistill_test::expect_within("|agreement of two masks - 0.5|", std::abs(agree - 0.5), kept_fraction_bound(0.5, x.numel()));
  // Neighbouring elements are not correlated (the hash of consecutive indices).
  const at::Tensor flat = kept(a).flatten().to(at::kDouble);
  const double pairs = flat.slice(0, 1).eq(flat.slice(0, 0, -1)).to(at::kDouble).mean().item<double>();
  segdistill_test::expect_within("|agreement of neighbours - 0.5|", std::abs(pairs - 0.5),
                                 kept_fraction_bound(0.5, flat.numel()));
}

TEST(HashedDropout, GradientUsesTheForwardMaskInEitherLayout) {
  for (const auto format : {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast}) {
    torch::manual_seed(3);
    const at::Tensor x = torch::rand({2, 6, 33, 33}).add(0.5).contiguous(format).requires_grad_();
    const at::Tensor y = apply_dropout(x, 0.3, true);
    // An upstream gradient in the other layout: the mask must still line up.
    const at::Tensor upstream =
        torch::rand({2, 6, 33, 33})
            .contiguous(format == at::MemoryFormat::ChannelsLast ? at::MemoryFormat::Contiguous : at::MemoryFormat::ChannelsLast);
    y.backward(upstream);
    const at::Tensor expected = upstream * kept(y).to(at::kFloat) / 0.7;
    EXPECT_TRUE(segdistill_test::allclose("x.grad() vs upstream * mask / (1 - p)", x.grad(), expected, 1e-6, 1e-7));
  }
}

TEST(HashedDropout, EvalZeroAndOneAndBadProbabilities) {
  const at::Tensor x = torch::rand({2, 3, 5, 5}).add(0.5);
  EXPECT_TRUE(apply_dropout(x, 0.5, /*training=*/false).is_same(x));
  EXPECT_TRUE(apply_dropout(x, 0.0, true).is_same(x));
  EXPECT_EQ(apply_dropout(x, 1.0, true).abs().sum().item<double>(), 0.0);
  EXPECT_THROW(apply_dropout(x, 1.5, true), Error);
  EXPECT_THROW(apply_dropout(x, std::nan(""), true), Error);
  EXPECT_THROW(Dropout(-0.1), Error);
  Dropout module(0.25);
  module->eval();
  EXPECT_TRUE(module(x).is_same(x));
}

TEST(BilinearResize, SameValuesAndGradientsAsLibTorchsResize) {
  for (const auto dtype : {at::kFloat, at::kBFloat16}) {
    for (const auto in_format : {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast}) {
      for (const auto out_format : {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast}) {
        torch::manual_seed(5);
        const at::Tensor base = torch::randn({2, 8, 9, 11});
        const at::Tensor x = base.to(dtype).contiguous(in_format).requires_grad_();
        const at::Tensor reference_x = base.to(dtype).contiguous(in_format).requires_grad_();
        const at::Tensor y = resize_bilinear(x, 33, 41, out_format);
        const at::Tensor reference = at::upsample_bilinear2d(reference_x, {33, 41}, /*align_corners=*/true);
        EXPECT_TRUE(y.is_contiguous(out_format));
        const at::Tensor upstream = torch::randn({2, 8, 33, 41}).to(dtype);
        y.backward(upstream);
        reference.backward(upstream);
        // The same arithmetic in another layout: equal up to the order of bf16 roundings.
        const double tolerance = dtype == at::kFloat ? 1e-6 : 2e-2;
        EXPECT_TRUE(segdistill_test::allclose("resize_bilinear vs upsample_bilinear2d", y.to(at::kFloat),
                                              reference.to(at::kFloat), tolerance, tolerance));
        EXPECT_TRUE(segdistill_test::allclose("their gradients", x.grad().to(at::kFloat), reference_x.grad().to(at::kFloat),
                                              tolerance, tolerance * 4));
      }
    }
  }
  EXPECT_THROW(resize_bilinear(torch::zeros({3, 4, 5}), 8, 8, at::MemoryFormat::Contiguous), Error);
}

TEST(BatchNorm, Bf16TrainingKeepsFp32AccuracyOfTheStatistics) {
  // Channels whose mean is up to 100 standard deviations: a mean rounded to bf16 before
  // it is subtracted would leave errors of up to 0.4 standard deviations.
  torch::manual_seed(11);
  const at::Tensor offsets = torch::tensor({0.0, 1.0, 10.0, 100.0}).view({1, 4, 1, 1});
  const at::Tensor x = (torch::randn({4, 4, 17, 17}) + offsets).to(at::kBFloat16).contiguous(at::MemoryFormat::ChannelsLast);
  BatchNorm2d ours(4);
  torch::nn::BatchNorm2d reference(torch::nn::BatchNormOptions(4));
  reference->to(at::kDouble);
  const at::Tensor y = ours(x.requires_grad_());
  const at::Tensor expected = reference(x.to(at::kDouble));
  ASSERT_EQ(y.scalar_type(), at::kBFloat16);
  // Within a few bf16 roundings (2^-8 relative; outputs reach about 4) of fp64.
  segdistill_test::expect_within("max |bf16 BatchNorm - fp64 BatchNorm|",
                                 (y.to(at::kDouble) - expected).abs().max().item<double>(), 4 * 4 * std::ldexp(1.0, -8));
  // The running statistics move by the batch's, as LibTorch's fp64 BatchNorm's do.
  EXPECT_TRUE(
      segdistill_test::allclose("running_mean vs fp64", ours->running_mean.to(at::kDouble), reference->running_mean, 1e-2, 1e-3));
  EXPECT_TRUE(
      segdistill_test::allclose("running_var vs fp64", ours->running_var.to(at::kDouble), reference->running_var, 2e-2, 1e-3));
  EXPECT_EQ(ours->num_batches_tracked.item<std::int64_t>(), 1);
  // And the gradients reach the fp32 weights.
  y.to(at::kFloat).sum().backward();
  ASSERT_TRUE(ours->weight.grad().defined());
  EXPECT_EQ(ours->weight.grad().scalar_type(), at::kFloat);
}
