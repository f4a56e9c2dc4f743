// Folding a teacher's BatchNorm into its convolutions: every shipped backbone gives the
// same features folded and unfolded, and the folded BatchNorms pass their input through.
#include <gtest/gtest.h>

#include <set>

#include <torch/torch.h>

#include "model_test_support.hpp"
#include "segdistill/modeling/batch_norm.hpp"
#include "segdistill/modeling/fold_batch_norm.hpp"
#include "tolerance.hpp"

using segdistill_test::make_model;

namespace {

class FoldBatchNorm : public segdistill_test::WithPlugins {};

// Random BatchNorm statistics and affine parameters, so that folding has work to do.
void randomise_batch_norms(segdistill::Segmentor& model) {
  torch::NoGradGuard no_grad;
  for (const auto& module : model.modules(false))
    if (auto* bn = dynamic_cast<segdistill::BatchNorm2dImpl*>(module.get())) {
      bn->running_mean.normal_(0, 0.2);
      bn->running_var.uniform_(0.5, 2.0);
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.normal_(0, 0.1);
    }
}

}  // namespace

TEST_F(FoldBatchNorm, EveryBackboneGivesTheSameFeaturesFolded) {
  torch::manual_seed(0);
  for (const char* backbone : {"resnet18", "resnet50", "mobilenetv2"}) {
    auto model = make_model(backbone, 16, 0.25, 5);
    randomise_batch_norms(*model);
    model->eval();
    const at::Tensor input = torch::randn({2, 3, 67, 59});
    torch::NoGradGuard no_grad;
    const segdistill::SegmentorOutput before = model->forward(input);
    // MobileNetV2 registers its modules under several names, as the reference does.
    std::set<const void*> unique;
    for (const auto& module : model->modules(false))
      if (dynamic_cast<segdistill::BatchNorm2dImpl*>(module.get())) unique.insert(module.get());
    const auto batch_norms = static_cast<std::int64_t>(unique.size());
    const std::int64_t folded = segdistill::fold_batch_norms(*model);
    EXPECT_EQ(folded, batch_norms) << backbone << ": every BatchNorm follows its convolution";
    const segdistill::SegmentorOutput after = model->forward(input);
    EXPECT_TRUE(segdistill_test::allclose("after.logits vs before.logits", after.logits, before.logits, 1e-4, 1e-4)) << backbone;
    for (const auto& [name, feature] : before.features)
      EXPECT_TRUE(segdistill_test::allclose("after.features.at(name) vs feature", after.features.at(name), feature, 1e-4, 1e-4))
          << backbone << " " << name;
    // Folded, a network can no longer train.
    model->train();
    EXPECT_ANY_THROW(model->forward(input));
  }
}

// The check input comes from a generator of its own: what is drawn from the global stream
// after folding (a distiller's initial weights) is the same as without folding.
TEST_F(FoldBatchNorm, LeavesTheGlobalRandomStreamWhereItWas) {
  auto model = make_model("resnet18", 16, 0.25, 5);
  randomise_batch_norms(*model);
  torch::manual_seed(7);
  const at::Tensor unfolded_draw = torch::randn({16});
  torch::manual_seed(7);
  ASSERT_GT(segdistill::fold_batch_norms(*model), 0);
  EXPECT_TRUE(torch::equal(torch::randn({16}), unfolded_draw));
}
