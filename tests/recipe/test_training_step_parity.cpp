// Training-step parity with the published recipe: segdistill's TaT training step against
// an independent Python implementation of the published step
// (tests/python/published_train_step.py), from the same starting weights: the student
// through model.init_from, the teacher through teacher.checkpoint (both PyTorch files
// written by Python) and the embeddings through `export-checkpoint --section distillers`.
// The teacher is a DeepLabV3+ ResNet-18 with other weights: a random ResNet-101 in train
// mode makes float32 rounding alone differ by 2-4% in the embeddings' update (see
// published_train_step.py, TEACHER).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/checkpoint/pytorch_checkpoint.hpp"
#include "test_support.hpp"
#include "tolerance.hpp"

namespace {

using segdistill::TensorDict;
using segdistill_test::run_segdistill;
using segdistill_test::TempDir;

const std::string kScript = std::string(SEGDISTILL_SOURCE_DIR) + "/tests/python/published_train_step.py";
constexpr double kLr = 3e-4;

void python(const std::string& args) {
  const std::string command = "/usr/bin/python3 " + kScript + " " + args;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

// The published TaT VOC R-18 setting on the fixed batch, dropout off on both networks,
// teacher in train mode, per-sample embeddings, the published CE scaling.
std::string config(const TempDir& dir, int iterations, int checkpoint_every) {
  const std::string root = dir.path().string();
  return dir.write("parity_" + std::to_string(iterations) + ".toml", R"(
[model]
num_classes = 21
backbone = {type = "resnet18", output_stride = 16}
head = {type = "deeplabv3plus", aspp_dropout = 0.0, decoder_dropout = [0.0, 0.0]}
init_from = ")" + root + R"(/student0.pth"

[teacher]
backbone = {type = "resnet18", output_stride = 16}
head = {type = "deeplabv3plus", aspp_dropout = 0.0, decoder_dropout = [0.0, 0.0]}
checkpoint = ")" + root + R"(/teacher0.pth"
mode = "train"

[[distillers]]
type = "tat_patch_group"
student_feature = "head.decoder"
teacher_feature = "head.decoder"
weight = 0.1
patches = [16, 16]
heads = 64
per_sample_embedding = true

[[distillers]]
type = "tat_anchor_point"
student_feature = "head.decoder"
teacher_feature = "head.decoder"
weight = 0.04
anchors = [32, 32]
per_sample_embedding = true

[data]
num_classes = 21
ignore_index = 255
[data.train]
type = "folder"
root = ")" + root + R"(/data"
class_names = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10", "c11", "c12", "c13", "c14", "c15", "c16",
               "c17", "c18", "c19", "c20"]
pipeline = [{type = "normalize"}]

[train]
iterations = )" + std::to_string(iterations) + R"(
batch_size = 2
workers = 0
optimizer = {lr = 3e-4, momentum = 0.9, nesterov = true, weight_decay = 5e-4}
lr_schedule = {type = "cosine"}
head_lr_mult = 10.0
distiller_lr_mult = 1.0
ce_batch_average = true
checkpoint_every = )" + std::to_string(checkpoint_every) + R"(
log_every = 1
work_dir = ")" + root + "/work_" + std::to_string(iterations) + R"("
)");
}

// Trains `iterations` steps (a checkpoint after each) and returns, for each step k, the
// {"student.<name>", "distiller.<name>"} parameters after it (element k - 1).
std::vector<TensorDict> segdistill_steps(const TempDir& dir, int iterations, int threads, const std::string& tag) {
  const std::string cfg = config(dir, iterations, 1);
  const std::string work = (dir.path() / ("work_" + tag)).string();
  const auto trained = run_segdistill({"--threads", std::to_string(threads), "train", cfg, "--work-dir", work});
  EXPECT_EQ(trained.exit_code, 0) << trained.err;
  std::vector<TensorDict> after;
  for (int k = 1; k <= iterations; ++k) {
    const segdistill::Checkpoint checkpoint =
        segdistill::load_checkpoint(work + "/checkpoints/iter_" + std::to_string(k) + ".pt");
    TensorDict out;
    for (const auto& [name, tensor] : checkpoint.groups.at("model")) out["student." + name] = tensor;
    for (const auto& [name, tensor] : checkpoint.groups.at("distillers"))
      if (name.rfind("0.", 0) == 0) out["distiller." + name.substr(2)] = tensor;
    after.push_back(std::move(out));
  }
  return after;
}

// ||update_a - update_b|| / ||update_b|| over every tensor of `b` (the parameters).
double relative_update_difference(const TensorDict& start, const TensorDict& a, const TensorDict& b, const std::string& prefix) {
  double diff = 0, norm = 0;
  for (const auto& [name, after_b] : b) {
    if (name.rfind(prefix, 0) != 0) continue;
    const at::Tensor before = start.at(name).to(at::kDouble);
    const at::Tensor ub = after_b.to(at::kDouble) - before, ua = a.at(name).to(at::kDouble) - before;
    diff += (ua - ub).pow(2).sum().item<double>();
    norm += ub.pow(2).sum().item<double>();
  }
  return std::sqrt(diff / norm);
}

TEST(TrainingStepParity, PublishedTatStepMatchesAnIndependentPythonStep) {
  TempDir dir;
  const std::string root = dir.path().string();
  python("start " + root);
  // The embeddings segdistill starts from, as a dict torch.load reads.
  const auto exported =
      run_segdistill({"export-checkpoint", config(dir, 1, 1), "--section", "distillers", "--output", root + "/distillers0.pth"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;

  TensorDict start;
  for (const auto& [name, tensor] : segdistill::read_pytorch_state_dict(root + "/student0.pth").tensors)
    start["student." + name] = tensor;
  for (const auto& [name, tensor] : segdistill::read_pytorch_state_dict(root + "/distillers0.pth").tensors)
    if (name.rfind("0.", 0) == 0) start["distiller." + name.substr(2)] = tensor;

  // The noise floor: the same segdistill step with 1 and 2 threads (other summation orders).
  // The first step of a cosine schedule runs at the base learning rate whatever the number
  // of iterations, so the 3-iteration runs (segdistill's, and the Python steps below) give
  // the 1-iteration results too, after their first step: one run of each instead of two.
  const TensorDict one_thread = segdistill_steps(dir, 1, 1, "1_t1").front();
  const std::vector<TensorDict> two_threads = segdistill_steps(dir, 3, 2, "3_t2");

  // The exact step is the float64 Python step. The published step itself runs in float32,
  // and this one is ill-conditioned (ASPP's far-dilated branches on a 17 x 17 map, the near
  // one-hot attention): the float32 Python step differs from the exact one by about 2e-3
  // in the student's update and 8e-3 in the embeddings' (measured here, printed below).
  // segdistill must be as close to the exact step as the bound, or, where float32 itself
  // cannot be, no further than 1.5 times the published float32 step is.
  const auto reference = [&](bool float64) {
    const std::string out = root + "/python" + (float64 ? "_f64" : "_f32");
    python("train " + root + " --distillers " + root + "/distillers0.pth --iterations 3 --lr 3e-4 --out " + out + "_3.pth" +
           " --out-after-first " + out + "_1.pth" + (float64 ? " --float64" : ""));
    return std::pair{segdistill::read_pytorch_state_dict(out + "_1.pth", /*keep_dtypes=*/true).tensors,
                     segdistill::read_pytorch_state_dict(out + "_3.pth", /*keep_dtypes=*/true).tensors};
  };
  const auto [exact_1, exact_3] = reference(true);
  const auto [published_1, published_3] = reference(false);
  for (int iterations : {1, 3}) {
    const TensorDict& exact = iterations == 1 ? exact_1 : exact_3;
    const TensorDict& published = iterations == 1 ? published_1 : published_3;
    const TensorDict& ours = two_threads.at(static_cast<std::size_t>(iterations - 1));
    const double bound = iterations == 1 ? 2e-3 : 1e-2;
    for (const std::string part : {"student.", "distiller."}) {
      const double to_exact = relative_update_difference(start, ours, exact, part);
      const double to_published = relative_update_difference(start, ours, published, part);
      const double float32_floor = relative_update_difference(start, published, exact, part);
      const double threads_floor = relative_update_difference(start, one_thread, two_threads.front(), part);
      std::printf(
          "%s after %d iteration(s) at lr %g: segdistill vs exact (float64) %.3g, vs the published step in float32 "
          "%.3g; float32 floor (published float32 vs exact) %.3g; 1 vs 2 threads %.3g; bound %g\n",
          part.c_str(), iterations, kLr, to_exact, to_published, float32_floor, threads_floor, bound);
      const double allowed = std::max(bound, 1.5 * float32_floor);
      const std::string what = part + " after " + std::to_string(iterations);
      EXPECT_TRUE(segdistill_test::within(what + ": update vs float64", to_exact, allowed));
      // Within `allowed` of the exact step, segdistill is within allowed + float32_floor of the
      // published float32 step (triangle inequality): under scalar kernels (--cpu-kernels
      // default) the two float32 steps sit on opposite sides of the exact one, at 0.97 x
      // `allowed` from each other while each is within 0.8 x of it.
      EXPECT_TRUE(segdistill_test::within(what + ": update vs published float32", to_published, allowed + float32_floor));
      // 1 vs 2 threads: measured 1e-6 .. 4e-5 under every kernel setting (tests/TOLERANCES.md).
      EXPECT_TRUE(segdistill_test::within(what + ": 1 vs 2 threads", threads_floor, 1e-4));
    }
  }
}

}  // namespace
