// Checkpoint files as an attacker or a broken disk makes them: loading one never runs
// code stored in it and never crashes; every command ends with an error naming the file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/core/untrusted_file.hpp"
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

// Round 2 (issue #32): memory bounded by the file's size, every reader's file a regular
// file, no uninitialised tensors, errors that name the file.
namespace {

// What a reader may add to a command's peak memory for `file`: the file itself plus the
// reader's budget (ReaderMemoryBudget: 64 MiB plus 16 times the file's size).
std::int64_t reader_allowance(const std::string& file) {
  const auto size = static_cast<std::int64_t>(fs::file_size(file));
  return size + static_cast<std::int64_t>(segdistill::ReaderMemoryBudget::kAllowance) +
         static_cast<std::int64_t>(segdistill::ReaderMemoryBudget::kPerFileByte) * size;
}

}  // namespace

TEST_F(HostileCheckpoints, MemoryBombsAreRefusedWithinTheReadersBudget) {
  const std::string out = (dir_->path() / "bomb_out.pt").string();
  const std::string good = good_run_ + "/checkpoints/iter_4.pt";
  const std::string good_state_dict = (dir_->path() / "good_state_dict.pth").string();
  ASSERT_EQ(run_segdistill({"export-checkpoint", config_, "--checkpoint", good, "--output", good_state_dict}).exit_code, 0);
  // Each command on a good file: what it costs without a hostile one.
  std::int64_t baseline = 0;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--threads", "1", "import-checkpoint", config_, "--from", good_state_dict, "--output", out},
           {"--threads", "1", "eval", config_, "--checkpoint", good},
           {"--threads", "1", "export-checkpoint", config_, "--checkpoint", good, "--output", out}}) {
    const auto r = segdistill_test::run_segdistill_measured(args, 120);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    baseline = std::max(baseline, r.peak_rss_bytes);
  }
  struct Case {
    std::string file, command, reason;
  };
  const std::vector<Case> cases{
      {"stride0_state_dict.pt", "import-checkpoint", "(tensor views;"},  // 1 GiB of views over one stored float
      {"stride0_checkpoint.pt", "eval", "(tensor views;"},               // the same inside a segdistill checkpoint
      {"stride0_checkpoint.pt", "export-checkpoint", "(tensor views;"},
      {"none_list.pt", "import-checkpoint", "(pickle containers;"},  // one pickle byte per value
      {"none_list_legacy.pt", "import-checkpoint", "(pickle values;"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file + " via " + c.command);
    const std::string file = hostile(c.file);
    std::vector<std::string> args{"--threads", "1", c.command, config_};
    if (c.command == "import-checkpoint") args.insert(args.end(), {"--from", file, "--output", out});
    if (c.command == "eval") args.insert(args.end(), {"--checkpoint", file});
    if (c.command == "export-checkpoint") args.insert(args.end(), {"--checkpoint", file, "--output", out});
    const auto r = segdistill_test::run_segdistill_measured(args, 120);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_TRUE(contains(r.err, file + ": reading this ")) << r.err;
    EXPECT_TRUE(contains(r.err, c.reason)) << r.err;
    EXPECT_LE(r.peak_rss_bytes, baseline + reader_allowance(file))
        << "peak " << r.peak_rss_bytes << " bytes, the good files' runs " << baseline;
  }
}

TEST_F(HostileCheckpoints, EveryTensorIsBackedByBytesOfTheFile) {
  const std::string file = hostile("empty_storage_list_legacy.pt");
  const auto r = run_segdistill({"import-checkpoint", config_, "--from", file, "--output", (dir_->path() / "e.pt").string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // 0 was a model of uninitialised memory
  EXPECT_TRUE(contains(r.err, file + ": storage '")) << r.err;
  EXPECT_TRUE(contains(r.err, "is used by a tensor but its bytes are not in the file (0 of 176 storages listed")) << r.err;
}

TEST_F(HostileCheckpoints, SizesWhoseElementCountOverflowsNameTheFile) {
  const std::string file = hostile("numel_overflow.pt");
  for (const auto& [command, read, r] : every_reader(file, "numel_overflow")) {
    SCOPED_TRACE(command);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_TRUE(contains(r.err, read + ": corrupt or unsupported pickle data at byte ")) << r.err;
    EXPECT_TRUE(contains(r.err, "a tensor's sizes multiply past 2^63 elements")) << r.err;
  }
}

TEST_F(HostileCheckpoints, OnlyRegularFilesAreReadAndNothingBlocks) {
  const std::string fifo = (dir_->path() / "fifo.pt").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string folder = hostile("");
  const std::string out = (dir_->path() / "irregular_out.pt").string();
  struct Case {
    std::string file, kind;
  };
  for (const auto& c :
       std::vector<Case>{{fifo, "a FIFO (named pipe)"}, {folder, "a folder"}, {"/dev/zero", "a character device"}}) {
    SCOPED_TRACE(c.file);
    std::vector<segdistill_test::MeasuredResult> runs;
    runs.push_back(
        segdistill_test::run_segdistill_measured({"import-checkpoint", config_, "--from", c.file, "--output", out}, 30));
    runs.push_back(segdistill_test::run_segdistill_measured(
        {"--threads", "1", "train", teacher_config(c.file, "irregular"), "--work-dir", (dir_->path() / "irregular").string()},
        30));
    runs.push_back(segdistill_test::run_segdistill_measured(
        {"--threads", "1", "train", config_, "--work-dir", (dir_->path() / "irregular_init").string(), "--set",
         "model.init_from=\"" + c.file + "\""},
        30));
    // --from is also checked by the command line (CLI11: exit 2 for a folder); config
    // values reach the reader.
    EXPECT_FALSE(runs[0].timed_out) << "blocked on " << c.file;
    EXPECT_TRUE(runs[0].exit_code == 1 || runs[0].exit_code == 2) << runs[0].err;
    EXPECT_TRUE(contains(runs[0].err, c.file)) << runs[0].err;
    for (std::size_t i = 1; i < runs.size(); ++i) {
      EXPECT_FALSE(runs[i].timed_out) << "blocked on " << c.file;
      EXPECT_EQ(runs[i].exit_code, 1) << runs[i].err;
      EXPECT_TRUE(contains(runs[i].err, c.kind + ", not a regular file")) << runs[i].err;
    }
    fs::remove_all(dir_->path() / "irregular");
    fs::remove_all(dir_->path() / "irregular_init");
  }
}

TEST_F(HostileCheckpoints, APlantedLinkAtTheTemporaryNameIsNeverWrittenThrough) {
  const std::string victim = dir_->write("victim.txt", "precious\n");
  const std::string output = (dir_->path() / "linked_export.pth").string();
  fs::create_symlink(victim, output + ".tmp");
  const auto r =
      run_segdistill({"export-checkpoint", config_, "--checkpoint", good_run_ + "/checkpoints/iter_4.pt", "--output", output});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(segdistill_test::read_file(victim), "precious\n");
  EXPECT_TRUE(fs::is_regular_file(output));
}
