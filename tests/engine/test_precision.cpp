// Mixed precision and channels-last: autocast scopes, bf16 training of every shipped
// backbone and head (fp32 checkpoints, exact resume), bf16 evaluation, fp16's CPU error.
#include <gtest/gtest.h>
#include <cmath>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "run_test_support.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/runtime/channels_last.hpp"
#include "segdistill/runtime/precision.hpp"
#include "test_support.hpp"
#include "tolerance.hpp"
#include "toy_dataset.hpp"

using namespace segdistill;
using segdistill_test::contains;
using segdistill_test::expect_identical;
using segdistill_test::run_segdistill;
using segdistill_test::spawn_segdistill;
using segdistill_test::TempDir;
namespace fs = std::filesystem;

namespace {

class MixedPrecision : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    toy::write_toy_dataset({(dir_->path() / "toy").string(), 3, 24, 6, 48, 48});
  }
  static void TearDownTestSuite() { delete dir_; }

  // A toy run of `model` (backbone and head lines); `extra` is appended to [train].
  std::string config(const std::string& name, const std::string& model, const std::string& extra = "", int iterations = 12,
                     int checkpoint_every = 4) const {
    return dir_->write(name + ".toml", segdistill_test::toy_run_config(
                                           (dir_->path() / "toy").string(), segdistill_test::toy_train_pipeline(), model,
                                           "iterations = " + std::to_string(iterations) +
                                               "\nbatch_size = 4\nworkers = 2\nseed = 3\ntensorboard = false\n"
                                               "optimizer = {lr = 0.05}\nlr_schedule = {type = \"poly\", warmup_iters = 2}\n"
                                               "log_every = 1\ncheckpoint_every = " +
                                               std::to_string(checkpoint_every) + "\nkeep_last = 5\n" + extra));
  }
  static std::string work(const std::string& name) { return (dir_->path() / "runs" / name).string(); }
  static TempDir* dir_;
};
TempDir* MixedPrecision::dir_ = nullptr;

const char* kResNet =
    "backbone = {type = \"resnet18\", width = 0.125}\n"
    "head = {type = \"deeplabv3plus\", aspp_channels = 16, low_level_channels = 8, decoder_channels = 16}\n";

std::vector<double> losses(const std::string& work_dir) {
  std::vector<double> out;
  for (const auto& rec : segdistill_test::metrics_records(work_dir))
    if (rec["type"] == "train") out.push_back(rec["loss"].get<double>());
  return out;
}

}  // namespace

// A matrix product, which autocast casts as it does convolutions: LibTorch 1.13 runs it in
// bf16 on every CPU, where a bf16 convolution needs oneDNN's AVX-512 kernels (under
// `--cpu-kernels avx2` it throws "could not create a primitive descriptor iterator").
TEST(Autocast, ScopeRunsMatrixProductsInBf16AndRestoresTheState) {
  const at::Tensor x = torch::randn({4, 8});
  const at::Tensor w = torch::randn({8, 3});
  {
    AutocastScope outer(c10::Device(c10::kCPU), Precision::kBf16);
    EXPECT_EQ(torch::mm(x, w).scalar_type(), at::kBFloat16);
    {
      AutocastScope fp32(c10::Device(c10::kCPU), Precision::kFp32);  // changes nothing
      EXPECT_EQ(torch::mm(x, w).scalar_type(), at::kBFloat16);
    }
    EXPECT_EQ(torch::mm(x, w).scalar_type(), at::kBFloat16);
  }
  EXPECT_EQ(torch::mm(x, w).scalar_type(), at::kFloat);
}

TEST(Autocast, PrecisionNamesAndTheCpuRules) {
  EXPECT_EQ(parse_precision("bf16", "k"), Precision::kBf16);
  try {
    parse_precision("float16", "train.precision");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "train.precision")) << e.what();
    EXPECT_TRUE(contains(e.what(), "valid: fp32, bf16, fp16")) << e.what();
  }
  EXPECT_THROW(effective_precision(Precision::kFp16, c10::Device(c10::kCPU), "train.precision"), Error);
  EXPECT_EQ(effective_precision(Precision::kBf16, c10::Device(c10::kCPU), "k"),
            cpu_has_bf16() ? Precision::kBf16 : Precision::kFp32);
}

TEST(ChannelsLast, ConvertsWeightsWithoutChangingThem) {
  torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3)), torch::nn::BatchNorm2d(4));
  const at::Tensor before = net->parameters()[0].clone();
  const at::Tensor x = torch::randn({2, 3, 9, 9});
  net->eval();
  const at::Tensor expected = net->forward(x);
  use_channels_last(*net.ptr());
  EXPECT_TRUE(uses_channels_last(*net.ptr()));
  EXPECT_TRUE(torch::equal(net->parameters()[0], before));
  EXPECT_TRUE(segdistill_test::allclose("net->forward(x.contiguous(at::MemoryFormat::ChannelsLast)) vs expected",
                                        net->forward(x.contiguous(at::MemoryFormat::ChannelsLast)), expected, 1e-5, 1e-6));
}

TEST_F(MixedPrecision, Bf16RunLearnsKeepsFp32CheckpointsAndResumesExactly) {
  if (!cpu_has_bf16()) {
    GTEST_SKIP() << "this CPU has no bf16 instructions: train.precision = \"bf16\" runs fp32 here";
  }
  const std::string cfg = config("bf16", kResNet, "precision = \"bf16\"\n");
  const auto straight = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("bf16_straight")});
  ASSERT_EQ(straight.exit_code, 0) << straight.err;
  const std::vector<double> curve = losses(work("bf16_straight"));
  ASSERT_EQ(curve.size(), 12u);
  EXPECT_LT((curve[9] + curve[10] + curve[11]) / 3, (curve[0] + curve[1] + curve[2]) / 3 * 0.8);
  const TensorDict weights = segdistill_test::checkpoint_group(work("bf16_straight") + "/checkpoints/iter_12.pt");
  for (const auto& [name, tensor] : weights) {
    if (tensor.is_floating_point()) {
      EXPECT_EQ(tensor.scalar_type(), at::kFloat) << name;
    }
  }

  // The same run in fp32 ends elsewhere: the bf16 forward passes did run.
  const std::string fp32 = config("fp32", kResNet, "precision = \"fp32\"\n");
  ASSERT_EQ(run_segdistill({"--threads", "1", "train", fp32, "--work-dir", work("fp32")}).exit_code, 0);
  const TensorDict fp32_weights = segdistill_test::checkpoint_group(work("fp32") + "/checkpoints/iter_12.pt");
  EXPECT_FALSE(torch::equal(fp32_weights.at("backbone.conv1.weight"), weights.at("backbone.conv1.weight")));

  // Killed after its first checkpoint and resumed, it ends with the same weights.
  const pid_t pid = spawn_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("bf16_killed")});
  const fs::path first = fs::path(work("bf16_killed")) / "checkpoints/iter_4.pt";
  for (int i = 0; i < 6000 && !fs::exists(first); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(fs::exists(first));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  const auto resumed = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("bf16_killed"), "--resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  expect_identical(weights, segdistill_test::checkpoint_group(work("bf16_killed") + "/checkpoints/iter_12.pt"));
}

TEST_F(MixedPrecision, EveryShippedBackboneAndHeadTrainsInBf16) {
  if (!cpu_has_bf16()) {
    GTEST_SKIP() << "this CPU has no bf16 instructions: train.precision = \"bf16\" runs fp32 here";
  }
  const std::vector<std::pair<std::string, std::string>> models = {
      {"resnet18", "backbone = {type = \"resnet18\", width = 0.125}\nhead = {type = \"fcn\", channels = 16}\n"},
      {"resnet50",
       "backbone = {type = \"resnet50\", width = 0.0625}\n" + std::string(kResNet).substr(std::string(kResNet).find("head"))},
      {"resnet101",
       "backbone = {type = \"resnet101\", width = 0.0625}\n" + std::string(kResNet).substr(std::string(kResNet).find("head"))},
      {"mobilenetv2",
       "backbone = {type = \"mobilenetv2\", width = 0.25}\n" + std::string(kResNet).substr(std::string(kResNet).find("head"))},
  };
  for (const auto& [name, model] : models) {
    const std::string cfg = config("bf16_" + name, model, "precision = \"bf16\"\n", 2, 2);
    const auto r = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("bf16_" + name)});
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    for (double loss : losses(work("bf16_" + name))) EXPECT_TRUE(std::isfinite(loss)) << name;
  }
}

TEST_F(MixedPrecision, Bf16EvaluationAgreesWithFp32) {
  if (!cpu_has_bf16()) {
    GTEST_SKIP() << "this CPU has no bf16 instructions: eval.precision = \"bf16\" runs fp32 here";
  }
  const std::string cfg = config("eval", kResNet, "", 40, 40);
  ASSERT_EQ(run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("eval")}).exit_code, 0);
  const std::string checkpoint = work("eval") + "/checkpoints/latest";
  auto miou = [&](const std::string& precision) {
    const std::string json = work("eval") + "/eval_" + precision + ".json";
    const auto r = run_segdistill({"--threads", "1", "eval", cfg, "--checkpoint", checkpoint, "--json", json, "--set",
                                   "eval.precision=\"" + precision + "\""});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::ifstream in(json);
    return nlohmann::json::parse(in)["mIoU"].get<double>();
  };
  const double fp32 = miou("fp32"), bf16 = miou("bf16");
  EXPECT_GT(fp32, 0.05);  // it learned something: the comparison is not between two chance-level models
  EXPECT_TRUE(segdistill_test::within("bf16 vs fp32", std::abs((bf16) - (fp32)), 0.02));
}

TEST_F(MixedPrecision, Fp16OnTheCpuIsAClearError) {
  const std::string cfg = config("fp16", kResNet, "precision = \"fp16\"\n");
  const auto r = run_segdistill({"train", cfg, "--work-dir", work("fp16"), "--device", "cpu"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "train.precision = \"fp16\" needs a CUDA device")) << r.err;
  EXPECT_FALSE(fs::exists(work("fp16")));
}
