// Checkpoint files as an attacker or a broken disk makes them: loading one never runs
// code stored in it and never crashes; every command ends with an error naming the file.
#include <gtest/gtest.h>

#include <filesystem>

#include "segdistill/checkpoint/checkpoint.hpp"
#include "test_support.hpp"
#include "toy_dataset.hpp"

using segdistill_test::contains;
using segdistill_test::run_program;
using segdistill_test::run_segdistill;
using segdistill_test::TempDir;
namespace fs = std::filesystem;

namespace {

const char* kNetwork =
    "backbone = {type = \"resnet18\", width = 0.125}\n"
    "head = {type = \"deeplabv3plus\", aspp_channels = 16, low_level_channels = 8, decoder_channels = 16}\n";
const char* kProbe = "SEGDISTILL_PROBE_RAN";

// One toy run (4 iterations) and the hostile files made from its checkpoint.
class HostileCheckpoints : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    segdistill::toy::write_toy_dataset({(dir_->path() / "toy").string(), 3, 8, 4, 40, 40});
    const std::string root = (dir_->path() / "toy").string();
    config_ =
        dir_->write("run.toml", "_base_ = \"" + std::string(SEGDISTILL_SOURCE_DIR) + "/configs/_base_/toy_data.toml\"\n" +
                                    "[data.train]\nroot = \"" + root + "\"\npipeline = [{type = \"random_scale_crop\", " +
                                    "base_size = 40, crop_size = [32], scale_range = [1.0, 1.0]}, {type = \"normalize\"}]\n" +
                                    "[data.val]\nroot = \"" + root + "\"\n[model]\nnum_classes = 6\n" + kNetwork +
                                    "[train]\niterations = 4\nbatch_size = 2\nworkers = 1\nseed = 1\n" +
                                    "optimizer = {lr = 0.01, momentum = 0.9}\ncheckpoint_every = 4\n");
    good_run_ = (dir_->path() / "good").string();
    const auto r = run_segdistill({"--threads", "1", "train", config_, "--work-dir", good_run_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    marker_ = (dir_->path() / "marker").string();
    const auto w =
        run_program("/usr/bin/python3", {std::string(SEGDISTILL_SOURCE_DIR) + "/tests/python/write_hostile_checkpoints.py",
                                         good_run_ + "/checkpoints/iter_4.pt", hostile(""), marker_});
    ASSERT_EQ(w.exit_code, 0) << w.out << w.err;
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string hostile(const std::string& name) { return (dir_->path() / "hostile" / name).string(); }

  // A work dir whose latest checkpoint is `file`, for --resume.
  static std::string work_dir_with(const std::string& file, const std::string& name) {
    const fs::path work = dir_->path() / "runs" / name;
    fs::create_directories(work / "checkpoints");
    fs::copy_file(good_run_ + "/config.toml", work / "config.toml", fs::copy_options::overwrite_existing);
    fs::copy_file(file, work / "checkpoints/iter_4.pt", fs::copy_options::overwrite_existing);
    fs::remove(work / "checkpoints/latest");
    fs::create_symlink("iter_4.pt", work / "checkpoints/latest");
    return work.string();
  }

  // A distillation config whose teacher weights come from `file`.
  static std::string teacher_config(const std::string& file, const std::string& name) {
    return dir_->write(name + ".toml", "_base_ = \"run.toml\"\n[teacher]\n" + std::string(kNetwork) + "checkpoint = \"" + file +
                                           "\"\n[[distillers]]\ntype = \"tat_anchor_point\"\nstudent_feature = \"head.decoder\"\n"
                                           "teacher_feature = \"head.decoder\"\nanchors = [2, 2]\n");
  }

  struct Reading {
    std::string command, file;  // `file`: the path the command read
    segdistill_test::CommandResult result;
  };

  // Every command that reads a checkpoint, run on `file`.
  static std::vector<Reading> every_reader(const std::string& file, const std::string& name) {
    const std::string out = (dir_->path() / ("exported_" + name + ".pt")).string();
    const std::string work = work_dir_with(file, name);
    return {
        {"train --resume", work + "/checkpoints/iter_4.pt",
         run_segdistill({"--threads", "1", "train", config_, "--work-dir", work, "--resume"})},
        {"eval", file, run_segdistill({"--threads", "1", "eval", config_, "--checkpoint", file})},
        {"export-checkpoint", file, run_segdistill({"export-checkpoint", config_, "--checkpoint", file, "--output", out})},
        {"import-checkpoint", file, run_segdistill({"import-checkpoint", config_, "--from", file, "--output", out})},
        {"teacher.checkpoint", file,
         run_segdistill({"--threads", "1", "train", teacher_config(file, name), "--work-dir",
                         (dir_->path() / "runs" / ("teacher_" + name)).string()})},
    };
  }

  static TempDir* dir_;
  static std::string config_, good_run_, marker_;
};
TempDir* HostileCheckpoints::dir_ = nullptr;
std::string HostileCheckpoints::config_, HostileCheckpoints::good_run_, HostileCheckpoints::marker_;

}  // namespace

TEST_F(HostileCheckpoints, AScriptedModuleInAnyGroupIsAnErrorAndRunsNothing) {
  for (const std::string group : {"model", "optimizer", "rng", "distillers", "extra"}) {
    const std::string file = hostile("scripted_" + group + ".pt");
    for (const auto& [command, read, r] : every_reader(file, "scripted_" + group)) {
      SCOPED_TRACE(group + " via " + command);
      EXPECT_TRUE(contains(r.err, read)) << r.err;
      EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
      EXPECT_FALSE(contains(r.out + r.err, kProbe)) << "code stored in the file ran";
      EXPECT_TRUE(contains(r.err, "segdistill: error: ")) << r.err;
      EXPECT_FALSE(contains(r.err, "unexpected")) << r.err;
    }
  }
  EXPECT_FALSE(fs::exists(marker_)) << "a file was created by code stored in a checkpoint";
}

TEST_F(HostileCheckpoints, AFormatOneCheckpointGivesItsWeightsButNeverItsOptimizerArchive) {
  const std::string file = hostile("scripted_v1.pt");
  const auto resume = run_segdistill({"--threads", "1", "train", config_, "--work-dir", work_dir_with(file, "v1"), "--resume"});
  EXPECT_EQ(resume.exit_code, 1);
  EXPECT_TRUE(contains(resume.err, "written by an earlier segdistill (checkpoint format 1)")) << resume.err;
  EXPECT_TRUE(contains(resume.err, "its weights still serve eval")) << resume.err;
  const auto eval = run_segdistill({"--threads", "1", "eval", config_, "--checkpoint", file});
  EXPECT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_FALSE(contains(resume.out + resume.err + eval.out + eval.err, kProbe));
  EXPECT_FALSE(fs::exists(marker_));
}

TEST_F(HostileCheckpoints, MalformedPicklesAreErrorsNamingTheFile) {
  for (const std::string name : {"tuple3_empty", "build_empty", "memo_missing", "nested_lists", "cycle", "huge_storage"}) {
    const std::string file = hostile(name + ".pt");
    for (const auto& [command, read, r] : every_reader(file, name)) {
      SCOPED_TRACE(name + " via " + command);
      EXPECT_EQ(r.exit_code, 1) << r.out << r.err;  // 139 or 134 were crashes
      EXPECT_TRUE(contains(r.err, read)) << r.err;
      EXPECT_FALSE(contains(r.err, "unexpected")) << r.err;
    }
  }
  const auto nested = run_segdistill(
      {"export-checkpoint", config_, "--checkpoint", hostile("nested_lists.pt"), "--output", (dir_->path() / "x.pt").string()});
  EXPECT_TRUE(contains(nested.err, "nested deeper than")) << nested.err;
  const auto cycle = run_segdistill(
      {"export-checkpoint", config_, "--checkpoint", hostile("cycle.pt"), "--output", (dir_->path() / "x.pt").string()});
  EXPECT_TRUE(contains(cycle.err, "a value that contains itself")) << cycle.err;
  const auto huge = run_segdistill(
      {"import-checkpoint", config_, "--from", hostile("huge_storage.pt"), "--output", (dir_->path() / "x.pt").string()});
  EXPECT_TRUE(contains(huge.err, "its reference declares 1152921504606846976 elements")) << huge.err;
  const auto memo = run_segdistill({"eval", config_, "--checkpoint", hostile("memo_missing.pt")});
  EXPECT_TRUE(contains(memo.err, "reference to an unknown memo entry")) << memo.err;
}

TEST_F(HostileCheckpoints, AFlippedByteFailsTheCrcCheck) {
  const std::string file = hostile("bad_crc.pt");
  const auto r = run_segdistill({"--threads", "1", "eval", config_, "--checkpoint", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, file + ": entry 'archive/data/")) << r.err;
  EXPECT_TRUE(contains(r.err, "fails its CRC-32 check")) << r.err;
}

TEST_F(HostileCheckpoints, NonFiniteWeightsAreRefusedUnlessAllowed) {
  const std::string file = hostile("nan_weight.pt");
  const auto refused = run_segdistill({"--threads", "1", "eval", config_, "--checkpoint", file});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(contains(refused.err, file + " (group 'model'): tensor '")) << refused.err;
  EXPECT_TRUE(contains(refused.err, "holds 1 NaN or Inf value(s)")) << refused.err;
  EXPECT_TRUE(contains(refused.err, "--allow-nonfinite")) << refused.err;
  const auto allowed = run_segdistill({"--threads", "1", "eval", config_, "--checkpoint", file, "--allow-nonfinite"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
}

TEST_F(HostileCheckpoints, ResumeRestoresTheMomentumOfEveryParameter) {
  const auto checkpoint = segdistill::load_checkpoint(good_run_ + "/checkpoints/iter_4.pt");
  ASSERT_EQ(checkpoint.format_version, segdistill::kCheckpointFormatVersion);
  const auto& optimizer = checkpoint.groups.at("optimizer");
  const auto& model = checkpoint.groups.at("model");
  std::size_t trainable = 0;
  for (const auto& [name, tensor] : model)
    if (name.find("running_") == std::string::npos && name.find("num_batches") == std::string::npos) ++trainable;
  EXPECT_EQ(optimizer.size(), trainable);  // every parameter took a step, so every one has a buffer
  for (const auto& [name, tensor] : optimizer) {
    EXPECT_EQ(name.rfind("momentum_buffer.", 0), 0u) << name;
    EXPECT_GT(tensor.abs().sum().item<double>(), 0.0) << name;
  }
}
