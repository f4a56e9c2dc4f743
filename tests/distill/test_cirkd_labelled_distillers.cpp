// The CIRKD toolbox's distillers that take the labels (cirkd_ifvd, cirkd_memory), keep
// memories (cirkd_memory, cirkd_channel), train a model of their own (cirkd_adversarial)
// or distil CIRKDV2's GCN adaptor, against an independent float64 Python implementation of
// its facts (tests/python/cirkd_labelled_reference.py) and against the reference values its
// own code gave (facts 1.16: T6, T9, T10).
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
  return ((a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max() / b.to(torch::kDouble).abs().max().clamp_min(1e-300))
      .item<double>();
}

std::shared_ptr<Distiller> build(const std::string& table, std::int64_t student_channels, std::int64_t teacher_channels,
                                 std::int64_t classes, std::int64_t ignore_index) {
  static SharedModules shared;
  DistillerContext context;
  context.config_key = "distillers.0";
  context.student_features.push_back({"head.feature", student_channels, 8});
  context.teacher_features.push_back({"head.feature", teacher_channels, 8});
  context.num_classes = classes;
  context.ignore_index = ignore_index;
  context.shared = &shared;
  const Config config = Config::parse("d = " + table + "\n", "cirkd.toml");
  auto distiller = distillers().create(config.root().table("d"), context);
  distiller->to(torch::kDouble);
  return distiller;
}

// Sets every parameter and buffer of `module` that the reference holds under prefix + name.
void load(torch::nn::Module& module, const TensorDict& r, const std::string& prefix) {
  torch::NoGradGuard no_grad;
  std::size_t loaded = 0;
  for (auto& item : module.named_parameters())
    if (r.count(prefix + item.key())) item.value().copy_(r.at(prefix + item.key())), ++loaded;
  for (auto& item : module.named_buffers())
    if (r.count(prefix + item.key())) item.value().copy_(r.at(prefix + item.key())), ++loaded;
  ASSERT_GT(loaded, 0u) << prefix;
}

const double kLossBound = 1e-10, kGradientBound = 1e-9;

class CirkdLabelledDistillers : public segdistill_test::WithPlugins {
 protected:
  static void SetUpTestSuite() {
    TempDir dir;
    const std::string out = (dir.path() / "reference.pt").string();
    const std::string command =
        "/usr/bin/python3 " + std::string(SEGDISTILL_SOURCE_DIR) + "/tests/python/cirkd_labelled_reference.py '" + out + "'";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    reference_ = new TensorDict(read_pytorch_state_dict(out, /*keep_dtypes=*/true).tensors);
  }
  static void TearDownTestSuite() { delete reference_; }
  static const TensorDict& r() { return *reference_; }
  static TensorDict* reference_;
};
TensorDict* CirkdLabelledDistillers::reference_ = nullptr;

TEST_F(CirkdLabelledDistillers, IfvdIsTheToolboxs) {
  auto ifvd = build("{type = \"cirkd_ifvd\"}", 4, 6, 3, 255);
  const at::Tensor s = r().at("ifvd.s").clone().requires_grad_();
  const at::Tensor loss = ifvd->distill({s}, {r().at("ifvd.t")}, r().at("ifvd.labels")).at("cirkd_ifvd");
  loss.backward();
  EXPECT_TRUE(segdistill_test::within("ifvd loss (relative)", relative(loss, r().at("ifvd.loss")), kLossBound));
  EXPECT_TRUE(
      segdistill_test::within("ifvd student gradient (relative)", relative(s.grad(), r().at("ifvd.grad.s")), kGradientBound));

  // T6 of the facts: K = 3, labels (2, 6, 8) with -1 unlabelled, float32 inputs.
  auto t6 = build("{type = \"cirkd_ifvd\"}", 4, 6, 3, -1);
  at::Tensor labels = torch::empty({2, 6, 8}, torch::kLong);
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t h = 0; h < 6; ++h)
      for (std::int64_t w = 0; w < 8; ++w) labels[b][h][w] = (3 * h + 2 * w + b) % 4 - 1;
  const double value =
      t6->distill({toolbox_lcg({2, 4, 3, 4}, 1)}, {toolbox_lcg({2, 6, 3, 4}, 401)}, labels).at("cirkd_ifvd").item<double>();
  EXPECT_TRUE(segdistill_test::within("T6 cirkd_ifvd vs 0.30186832 (relative)", std::abs(value / 0.30186832 - 1), 1e-6)) << value;
}

// Three steps with the projection head: losses, gradients of the student and of every
// head parameter, then the memories, their write positions and the head's BatchNorm
// statistics. Every class holds 4 pixels of each image, so each write is one block of 4
// (its order within the block is the draw's; blocks are compared as sets).
void expect_memory_steps(const TensorDict& r, const std::string& mode) {
  const std::string prefix = "memory." + mode + ".";
  auto memory = build(
      "{type = \"cirkd_memory\", pixel_memory_size = 12, pixels_per_class = 12, region_memory_size = 4, "
      "regions_per_class = 4, enqueue = \"" +
          mode + "\"}",
      3, 5, 3, -1);
  load(*memory, r, prefix + "init.");
  for (int step = 0; step < 3; ++step) {
    const std::string key = prefix + std::to_string(step) + ".";
    for (auto& p : memory->parameters()) p.mutable_grad() = at::Tensor();
    const at::Tensor s = r.at(key + "s").clone().requires_grad_();
    const DistillLosses terms = memory->distill({s}, {r.at(key + "t")}, r.at(key + "labels"));
    (terms.at("cirkd_memory_pixel") + terms.at("cirkd_memory_region")).backward();
    const std::string what = mode + " step " + std::to_string(step);
    EXPECT_TRUE(segdistill_test::within(what + " pixel loss (relative)",
                                        relative(terms.at("cirkd_memory_pixel"), r.at(key + "pixel")), kLossBound));
    EXPECT_TRUE(segdistill_test::within(what + " region loss (relative)",
                                        relative(terms.at("cirkd_memory_region"), r.at(key + "region")), kLossBound));
    EXPECT_TRUE(
        segdistill_test::within(what + " student gradient (relative)", relative(s.grad(), r.at(key + "grad.s")), kGradientBound));
    for (auto& item : memory->named_parameters())
      EXPECT_TRUE(segdistill_test::within(what + " " + item.key() + " gradient (relative)",
                                          relative(item.value().grad(), r.at(key + "grad." + item.key())), kGradientBound));
  }
  const auto buffers = memory->named_buffers();
  const auto blocks_sorted = [](const at::Tensor& bank) {  // K x P x D, blocks of 4 rows each sorted by the first column
    at::Tensor blocks = bank.reshape({bank.size(0), -1, 4, bank.size(2)});
    const at::Tensor order = std::get<1>(blocks.select(3, 0).sort(2)).unsqueeze(3).expand_as(blocks);
    return blocks.gather(2, order);
  };
  EXPECT_TRUE(segdistill_test::within(
      mode + " pixel memory after 3 steps (relative)",
      relative(blocks_sorted(buffers["teacher_pixel_queue"]), blocks_sorted(r.at(prefix + "after.teacher_pixel_queue"))),
      kGradientBound));
  EXPECT_TRUE(segdistill_test::within(mode + " region memory after 3 steps (relative)",
                                      relative(buffers["teacher_segment_queue"], r.at(prefix + "after.teacher_segment_queue")),
                                      kGradientBound));
  EXPECT_TRUE(buffers["pixel_queue_ptr"].equal(r.at(prefix + "after.pixel_queue_ptr"))) << buffers["pixel_queue_ptr"];
  EXPECT_TRUE(buffers["segment_queue_ptr"].equal(r.at(prefix + "after.segment_queue_ptr"))) << buffers["segment_queue_ptr"];
  for (const char* stat : {"project_head.1.running_mean", "project_head.1.running_var"})
    EXPECT_TRUE(segdistill_test::within(mode + " " + stat + " (relative)",
                                        relative(buffers[stat], r.at(prefix + "after." + stat)), kGradientBound));
}

TEST_F(CirkdLabelledDistillers, MemoryIsTheToolboxsStepByStepInBothEnqueueModes) {
  expect_memory_steps(r(), "first_positions");
  expect_memory_steps(r(), "class_positions");
}

// T10 of the facts (projection replaced by identity: project = false), and the value of
// the evident intent (enqueue = "class_positions") it gives beside it.
TEST_F(CirkdLabelledDistillers, MemoryReproducesT10AndItsEvidentIntent) {
  at::Tensor labels = torch::empty({2, 6, 8}, torch::kLong);
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t h = 0; h < 6; ++h)
      for (std::int64_t w = 0; w < 8; ++w) labels[b][h][w] = (3 * (h / 2) + 2 * (w / 2) + b) % 4 - 1;
  for (const auto& [mode, expected_pixel] :
       std::vector<std::pair<std::string, double>>{{"first_positions", 8.4233017}, {"class_positions", 8.0659949}}) {
    auto memory = build(
        "{type = \"cirkd_memory\", project = false, pixel_memory_size = 20, pixels_per_class = 20, "
        "region_memory_size = 4, regions_per_class = 4, enqueue = \"" +
            mode + "\"}",
        4, 4, 3, -1);
    {
      torch::NoGradGuard no_grad;
      auto buffers = memory->named_buffers();
      for (std::int64_t k = 0; k < 3; ++k) {
        for (std::int64_t i = 0; i < 20; ++i) {
          at::Tensor v = torch::empty({4}, torch::kDouble);
          for (std::int64_t d = 0; d < 4; ++d) v[d] = std::cos(0.5 * k + 0.37 * i + 1.1 * d);
          buffers["teacher_pixel_queue"][k][i].copy_(v / v.norm());
        }
        for (std::int64_t i = 0; i < 4; ++i) {
          at::Tensor v = torch::empty({4}, torch::kDouble);
          for (std::int64_t d = 0; d < 4; ++d) v[d] = std::sin(0.8 * k + 0.61 * i + 0.9 * d);
          buffers["teacher_segment_queue"][k][i].copy_(v / v.norm());
        }
      }
    }
    const DistillLosses terms = memory->distill({toolbox_lcg({2, 4, 3, 4}, 1)}, {toolbox_lcg({2, 4, 3, 4}, 401)}, labels);
    const double pixel = terms.at("cirkd_memory_pixel").item<double>(), region = terms.at("cirkd_memory_region").item<double>();
    EXPECT_TRUE(segdistill_test::within("T10 cirkd_memory pixel, enqueue " + mode + " (relative)",
                                        std::abs(pixel / expected_pixel - 1), 1e-6))
        << pixel;
    EXPECT_TRUE(segdistill_test::within("T10 cirkd_memory region, enqueue " + mode + " (relative)",
                                        std::abs(region / 6.7026706 - 1), 1e-6))
        << region;
  }
}

// The toolbox gives NaN for a batch without a labelled pixel; here it is 0, with a zero
// gradient on the same parameters as any other batch. A label that is neither a class
// nor the ignore value is an error naming it.
TEST_F(CirkdLabelledDistillers, MemoryGivesZeroForAnUnlabelledBatchAndRefusesUnknownLabels) {
  auto memory = build(
      "{type = \"cirkd_memory\", pixel_memory_size = 40, pixels_per_class = 10, region_memory_size = 8, regions_per_class = 2}",
      3, 5, 3, 255);
  const at::Tensor s = torch::randn({2, 3, 4, 4}, torch::kDouble).requires_grad_();
  const at::Tensor t = torch::randn({2, 5, 4, 4}, torch::kDouble);
  const at::Tensor before = memory->named_buffers()["teacher_pixel_queue"].clone();
  const DistillLosses terms = memory->distill({s}, {t}, torch::full({2, 8, 8}, 255, torch::kLong));
  EXPECT_EQ(terms.at("cirkd_memory_pixel").item<double>(), 0.0);
  EXPECT_EQ(terms.at("cirkd_memory_region").item<double>(), 0.0);
  (terms.at("cirkd_memory_pixel") + terms.at("cirkd_memory_region")).backward();
  ASSERT_TRUE(s.grad().defined());
  EXPECT_EQ(s.grad().abs().max().item<double>(), 0.0);
  for (auto& p : memory->parameters()) EXPECT_TRUE(p.grad().defined());
  EXPECT_TRUE(memory->named_buffers()["teacher_pixel_queue"].equal(before));  // nothing to remember
  at::Tensor labels = torch::zeros({2, 8, 8}, torch::kLong);
  labels[1][2][4] = 7;
  const std::string message = segdistill_test::error_of([&] { memory->distill({s}, {t}, labels); });
  EXPECT_NE(message.find("distillers.0: cirkd_memory got the label 7, neither a class (0..2) nor data.ignore_index (255)"),
            std::string::npos)
      << message;
  EXPECT_NE(segdistill_test::error_of([&] { memory->distill({s}, {t}); }).find("called without them"), std::string::npos);
  EXPECT_TRUE(distillers().inputs("cirkd_memory").labels);
  EXPECT_FALSE(distillers().inputs("cirkd_skd").labels);
}

// Two iterations as the toolbox's train_kd.py runs them: the student's term and its
// gradient, then the discriminator's own step (zero_grad, hinge loss on the detached
// student then the teacher, Adam). Afterwards every discriminator parameter, spectral-norm
// vector, BatchNorm statistic and Adam moment equals the reference's.
TEST_F(CirkdLabelledDistillers, AdversarialTermAndDiscriminatorStepAreTheToolboxs) {
  auto adversarial = build("{type = \"cirkd_adversarial\"}", 3, 3, 3, 255);
  load(*adversarial, r(), "adv.init.");
  const auto own = adversarial->self_stepped_parameters();
  EXPECT_EQ(own.size(), adversarial->named_parameters().size());  // the discriminator's: all of them
  for (int step = 0; step < 2; ++step) {
    const std::string key = "adv." + std::to_string(step) + ".";
    const at::Tensor s = r().at(key + "s").clone().requires_grad_();
    const at::Tensor loss = adversarial->distill({s}, {r().at(key + "t")}).at("cirkd_adversarial");
    loss.backward();
    EXPECT_TRUE(segdistill_test::within("adversarial step " + std::to_string(step) + " student term (relative)",
                                        relative(loss, r().at(key + "g_loss")), kLossBound));
    EXPECT_TRUE(segdistill_test::within("adversarial step " + std::to_string(step) + " student gradient (relative)",
                                        relative(s.grad(), r().at(key + "grad.s")), kGradientBound));
    const auto logged = adversarial->after_student_step();
    EXPECT_TRUE(segdistill_test::within("adversarial step " + std::to_string(step) + " discriminator loss (relative)",
                                        std::abs(logged.at("discriminator_loss") / r().at(key + "d_loss").item<double>() - 1),
                                        kLossBound));
  }
  std::size_t compared = 0;
  for (auto& item : adversarial->named_parameters()) {
    EXPECT_TRUE(segdistill_test::within("adversarial " + item.key() + " after 2 steps (relative)",
                                        relative(item.value(), r().at("adv.after." + item.key())), kGradientBound));
    ++compared;
  }
  for (auto& item : adversarial->named_buffers()) {
    if (item.key().rfind("adam.", 0) == 0) continue;
    EXPECT_TRUE(segdistill_test::within("adversarial " + item.key() + " after 2 steps (relative)",
                                        relative(item.value(), r().at("adv.after." + item.key())), kGradientBound));
    ++compared;
  }
  EXPECT_EQ(compared, 37u);  // 26 parameters, 11 buffers
  // Adam's first moments, by parameter order. The key convolutions' biases get no
  // gradient in exact arithmetic (a constant over the keys leaves the softmax as it is):
  // their moments are rounding noise, so errors are relative to the largest moment.
  const auto parameters = adversarial->named_parameters();
  const auto buffers = adversarial->named_buffers();
  double largest = 0;
  for (std::size_t i = 0; i < parameters.size(); ++i)
    largest = std::max(largest, buffers["adam.exp_avg_" + std::to_string(i)].abs().max().item<double>());
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const std::string name = parameters.keys()[i].substr(std::string("discriminator.").size());
    const at::Tensor ours = buffers["adam.exp_avg_" + std::to_string(i)], theirs = r().at("adv.after.adam_moment." + name);
    const double error = (ours - theirs).abs().max().item<double>() / std::max(theirs.abs().max().item<double>(), 1e-6 * largest);
    EXPECT_TRUE(segdistill_test::within("adversarial Adam moment of " + name + " (relative)", error, kGradientBound));
  }
  const std::string message = segdistill_test::error_of([&] {
    adversarial->distill({torch::zeros({2, 3, 40, 80}, torch::kDouble)}, {torch::zeros({2, 3, 40, 80}, torch::kDouble)});
  });
  EXPECT_NE(message.find("needs score maps of at least 64 x 64"), std::string::npos) << message;
}

// Three steps of CIRKDV2's channel terms with the projection head: each term, the
// gradients of the student and of the head, then the memory (blocks of 8 rows, compared
// as sets: their order is the draw's) and its pointer. Then T9 of the facts.
TEST_F(CirkdLabelledDistillers, ChannelTermsAreTheToolboxsStepByStepAndReproduceT9) {
  auto channel = build("{type = \"cirkd_channel\", bank_width = 12, memory_size = 16, contrast_size = 16}", 3, 4, 3, 255);
  load(*channel, r(), "channel.init.");
  for (int step = 0; step < 3; ++step) {
    const std::string key = "channel." + std::to_string(step) + ".";
    for (auto& p : channel->parameters()) p.mutable_grad() = at::Tensor();
    const at::Tensor s = r().at(key + "s").clone().requires_grad_();
    const DistillLosses terms = channel->distill({s}, {r().at(key + "t")});
    (terms.at("cirkd_channel_minibatch") + terms.at("cirkd_channel_mse") + terms.at("cirkd_channel_memory")).backward();
    const std::string what = "channel step " + std::to_string(step);
    for (const char* term : {"minibatch", "mse", "memory"})
      EXPECT_TRUE(segdistill_test::within(what + " " + term + " (relative)",
                                          relative(terms.at(std::string("cirkd_channel_") + term), r().at(key + term)),
                                          kLossBound));
    EXPECT_TRUE(segdistill_test::within(what + " student gradient (relative)", relative(s.grad(), r().at(key + "grad.s")),
                                        kGradientBound));
    for (auto& item : channel->named_parameters())
      EXPECT_TRUE(segdistill_test::within(what + " " + item.key() + " gradient (relative)",
                                          relative(item.value().grad(), r().at(key + "grad." + item.key())), kGradientBound));
  }
  const auto buffers = channel->named_buffers();
  const auto blocks_sorted = [](const at::Tensor& bank) {
    at::Tensor blocks = bank.reshape({-1, 8, bank.size(1)});
    const at::Tensor order = std::get<1>(blocks.select(2, 0).sort(1)).unsqueeze(2).expand_as(blocks);
    return blocks.gather(1, order);
  };
  EXPECT_TRUE(segdistill_test::within(
      "channel memory after 3 steps (relative)",
      relative(blocks_sorted(buffers["teacher_channel_queue"]), blocks_sorted(r().at("channel.after.teacher_channel_queue"))),
      kGradientBound));
  EXPECT_TRUE(buffers["channel_queue_ptr"].equal(r().at("channel.after.channel_queue_ptr"))) << buffers["channel_queue_ptr"];

  // T9: projection replaced by identity (project = false), D_c = 4, M = Q = 12.
  auto t9 = build(
      "{type = \"cirkd_channel\", project = false, bank_width = 4, memory_size = 12, contrast_size = 12, "
      "mse_weight = 1.0, memory_weight = 1.0}",
      3, 3, 3, 255);
  {
    torch::NoGradGuard no_grad;
    at::Tensor bank = t9->named_buffers()["teacher_channel_queue"];
    for (std::int64_t i = 0; i < 12; ++i) {
      at::Tensor v = torch::empty({4}, torch::kDouble);
      for (std::int64_t d = 0; d < 4; ++d) v[d] = std::sin(0.9 * i + 1.3 * d);
      bank[i].copy_(v / v.norm());
    }
  }
  const DistillLosses terms = t9->distill({toolbox_lcg({2, 3, 8, 8}, 1)}, {toolbox_lcg({2, 3, 8, 8}, 401)});
  for (const auto& [term, expected] : std::vector<std::pair<std::string, double>>{
           {"cirkd_channel_minibatch", 1.4530770}, {"cirkd_channel_mse", 0.35235265}, {"cirkd_channel_memory", 4.8346868}}) {
    const double value = terms.at(term).item<double>();
    EXPECT_TRUE(segdistill_test::within("T9 " + term + " (relative)", std::abs(value / expected - 1), 1e-6)) << value;
  }
  const std::string message = segdistill_test::error_of([&] {
    t9->distill({torch::zeros({2, 3, 16, 16}, torch::kDouble)}, {torch::zeros({2, 3, 16, 16}, torch::kDouble)});
  });
  EXPECT_NE(message.find("distillers.0.bank_width: cirkd_channel remembers channels of 4 positions, but the pooled teacher "
                         "feature head.feature has 16"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("set bank_width = 16"), std::string::npos) << message;
}

// FitNet on the GCN adaptor's output: loss and the gradients of the student, of every
// adaptor parameter and of FitNet's conv. Distillers with `gcn = true` on one feature
// share one adaptor, computed once per step (its BatchNorm counts one batch).
TEST_F(CirkdLabelledDistillers, TheGcnAdaptorIsTheToolboxsAndSharedByTheDistillersOfAFeature) {
  SharedModules shared;
  DistillerContext context;
  context.config_key = "distillers.0";
  context.student_features.push_back({"head.feature", 4, 8});
  context.teacher_features.push_back({"head.feature", 5, 8});
  context.num_classes = 3;
  context.shared = &shared;
  const auto make = [&](const std::string& table) {
    const Config config = Config::parse("d = " + table + "\n", "cirkd.toml");
    auto d = distillers().create(config.root().table("d"), context);
    d->to(torch::kDouble);
    return d;
  };
  auto fitnet = make("{type = \"cirkd_fitnet\", gcn = true}");
  auto minibatch = make("{type = \"cirkd_minibatch_pixel\", gcn = true}");
  load(*fitnet, r(), "gcn.init.");
  const at::Tensor s = r().at("gcn.s").clone().requires_grad_();
  const at::Tensor loss = fitnet->distill({s}, {r().at("gcn.t")}).at("cirkd_fitnet");
  minibatch->distill({s}, {torch::randn({2, 5, 3, 5}, torch::kDouble)});  // the same adaptor output, not a second forward
  loss.backward();
  EXPECT_TRUE(segdistill_test::within("gcn fitnet loss (relative)", relative(loss, r().at("gcn.loss")), kLossBound));
  EXPECT_TRUE(segdistill_test::within("gcn fitnet student gradient (relative)", relative(s.grad(), r().at("gcn.grad.s")),
                                      kGradientBound));
  for (auto& item : fitnet->named_parameters())
    EXPECT_TRUE(segdistill_test::within("gcn fitnet " + item.key() + " gradient (relative)",
                                        relative(item.value().grad(), r().at("gcn.grad." + item.key())), kGradientBound));
  EXPECT_TRUE(fitnet->named_parameters()["gcn.node_q.weight"].is_same(minibatch->named_parameters()["gcn.node_q.weight"]));
  EXPECT_EQ(fitnet->named_buffers()["gcn.conv1.1.num_batches_tracked"].item<std::int64_t>(), 1);
}

}  // namespace
