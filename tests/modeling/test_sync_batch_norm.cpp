// segdistill::BatchNorm2d: the same state dict and results as torch::nn::BatchNorm2d, and
// with synchronisation on, statistics and gradients over the global batch.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "segdistill/core/error.hpp"
#include "segdistill/modeling/batch_norm.hpp"
#include "segdistill/runtime/collectives.hpp"
#include "tolerance.hpp"

using namespace segdistill;

namespace {

// A job of `copies` ranks that all hold this rank's data: every all-reduce multiplies by
// `copies`. Global statistics then equal the local ones, so synchronised BatchNorm must
// give exactly what a plain BatchNorm gives on this batch.
class MirrorCollectives : public Collectives {
 public:
  explicit MirrorCollectives(int copies) : copies_(copies) { backend_ = "mirror"; }
  int rank() const override { return 0; }
  int world_size() const override { return copies_; }
  void all_reduce_sum(std::vector<at::Tensor>& tensors) override {
    ++calls;
    for (auto& t : tensors) t.mul_(copies_);
  }
  void broadcast(std::vector<at::Tensor>&, int) override {}
  void barrier() override {}
  int calls = 0;

 private:
  int copies_;
};

struct SyncScope {
  explicit SyncScope(std::shared_ptr<Collectives> c) {
    current_collectives() = std::move(c);
    set_batch_norm_sync(true);
  }
  ~SyncScope() {
    set_batch_norm_sync(false);
    current_collectives().reset();
  }
};

TEST(BatchNorm, SameStateDictAndResultsAsLibTorch) {
  torch::manual_seed(0);
  BatchNorm2d ours(5);
  torch::nn::BatchNorm2d theirs(5);
  std::vector<std::string> a, b;
  for (const auto& p : ours->named_parameters()) a.push_back(p.key());
  for (const auto& p : ours->named_buffers()) a.push_back(p.key());
  for (const auto& p : theirs->named_parameters()) b.push_back(p.key());
  for (const auto& p : theirs->named_buffers()) b.push_back(p.key());
  EXPECT_EQ(a, b);
  const at::Tensor x = torch::randn({3, 5, 4, 6}) * 2 + 1;
  EXPECT_TRUE(segdistill_test::allclose("ours(x) vs theirs(x)", ours(x), theirs(x), 1e-6, 1e-6));
  EXPECT_TRUE(segdistill_test::allclose("ours->running_mean vs theirs->running_mean", ours->running_mean, theirs->running_mean,
                                        1e-5, 1e-8));
  EXPECT_TRUE(
      segdistill_test::allclose("ours->running_var vs theirs->running_var", ours->running_var, theirs->running_var, 1e-5, 1e-8));
  ours->eval();
  theirs->eval();
  EXPECT_TRUE(segdistill_test::allclose("ours(x) vs theirs(x)", ours(x), theirs(x), 1e-6, 1e-6));
}

TEST(BatchNorm, SynchronisedStatisticsAndGradientsMatchTheGlobalBatch) {
  torch::manual_seed(1);
  BatchNorm2d synced(4), plain(4);
  {
    torch::NoGradGuard no_grad;
    synced->weight.uniform_(0.5, 1.5);
    synced->bias.uniform_(-0.5, 0.5);
    plain->weight.copy_(synced->weight);
    plain->bias.copy_(synced->bias);
  }
  const at::Tensor x = (torch::randn({2, 4, 5, 3}) * 3 + 2).set_requires_grad(true);
  const at::Tensor x2 = x.detach().clone().set_requires_grad(true);
  const at::Tensor upstream = torch::randn({2, 4, 5, 3});

  auto mirror = std::make_shared<MirrorCollectives>(3);
  at::Tensor y;
  {
    SyncScope scope(mirror);
    y = synced(x);
    (y * upstream).sum().backward();
  }
  EXPECT_EQ(mirror->calls, 3);  // mean, variance, and the backward pass's sums
  const at::Tensor y2 = plain(x2);
  (y2 * upstream).sum().backward();
  EXPECT_TRUE(segdistill_test::allclose("y vs y2", y, y2, 1e-5, 1e-5)) << (y - y2).abs().max();
  EXPECT_TRUE(segdistill_test::allclose("x.grad() vs x2.grad()", x.grad(), x2.grad(), 1e-5, 1e-5))
      << (x.grad() - x2.grad()).abs().max();
  EXPECT_TRUE(segdistill_test::allclose("synced->weight.grad() vs plain->weight.grad()", synced->weight.grad(),
                                        plain->weight.grad(), 1e-5, 1e-5));
  EXPECT_TRUE(segdistill_test::allclose("synced->bias.grad() vs plain->bias.grad()", synced->bias.grad(), plain->bias.grad(),
                                        1e-5, 1e-5));
  // Running variance is unbiased over the global count (3 copies x 30 values per channel).
  const at::Tensor var = x.detach().var({0, 2, 3}, /*unbiased=*/false);
  const at::Tensor expected = 0.9 * torch::ones({4}) + 0.1 * var * (90.0 / 89.0);
  EXPECT_TRUE(segdistill_test::allclose("synced->running_var vs expected", synced->running_var, expected, 1e-5, 1e-5));
}

TEST(BatchNorm, NotSynchronisedInEvalModeOrWithoutAJob) {
  auto mirror = std::make_shared<MirrorCollectives>(2);
  BatchNorm2d bn(3);
  const at::Tensor x = torch::randn({2, 3, 4, 4});
  bn(x);  // no job: plain
  {
    SyncScope scope(mirror);
    bn->eval();
    bn(x);
  }
  EXPECT_EQ(mirror->calls, 0);
}

}  // namespace

TEST(BatchNorm, OneValuePerChannelInTrainingIsAnErrorThatSaysWhy) {
  BatchNorm2d bn(3);
  bn->train();
  try {
    bn(torch::randn({1, 3, 1, 1}));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("one value per channel (input 1 x 3 x 1 x 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("at least 2 images per process"), std::string::npos) << e.what();
  }
  // Two images, or one image of several pixels, or evaluation: fine.
  EXPECT_NO_THROW(bn(torch::randn({2, 3, 1, 1})));
  EXPECT_NO_THROW(bn(torch::randn({1, 3, 2, 1})));
  bn->eval();
  EXPECT_NO_THROW(bn(torch::randn({1, 3, 1, 1})));
  EXPECT_TRUE(torch::isfinite(bn->running_var).all().item<bool>());
}
