// `segdistill train` as a user runs it: outputs, exact resume after kill -9 and SIGINT,
// failures before and during training, distillation runs.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "run_test_support.hpp"
#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/checkpoint/pytorch_checkpoint.hpp"
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

const std::string& kStudent = segdistill_test::kToyStudent;
const char* kTeacher =
    "backbone = {type = \"resnet18\", width = 0.25}\n"
    "head = {type = \"deeplabv3plus\", aspp_channels = 16, low_level_channels = 8, decoder_channels = 16}\n";

class Training : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    toy::write_toy_dataset({(dir_->path() / "toy").string(), 3, 24, 6, 48, 48});
  }
  static void TearDownTestSuite() { delete dir_; }

  // A config training the small student on the toy data; `extra` is appended.
  std::string config(const std::string& name, const std::string& extra = "") const {
    return dir_->write(name + ".toml", segdistill_test::toy_run_config((dir_->path() / "toy").string(),
                                                                       segdistill_test::toy_train_pipeline(), kStudent,
                                                                       "iterations = 12\nbatch_size = 4\nworkers = 2\nseed = 3\n"
                                                                       "optimizer = {lr = 0.01}\nlr_schedule = {type = "
                                                                       "\"poly\", warmup_iters = 2}\n"
                                                                       "log_every = 2\ncheckpoint_every = 4\nkeep_last = 5\n" +
                                                                           extra));
  }
  static std::string work(const std::string& name) { return (dir_->path() / "runs" / name).string(); }
  // Trains the toy teacher (kTeacher) for `iterations` into work(name).
  void train_teacher(const std::string& name, int iterations) const {
    const std::string cfg = dir_->write(name + ".toml", "_base_ = \"" + config(name + "_base") + "\"\n[model]\n" + kTeacher);
    ASSERT_EQ(run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work(name), "--set",
                              "train.iterations=" + std::to_string(iterations)})
                  .exit_code,
              0);
  }
  static TempDir* dir_;
};
TempDir* Training::dir_ = nullptr;

TensorDict model_of(const std::string& checkpoint) { return segdistill_test::checkpoint_group(checkpoint); }

std::vector<nlohmann::json> metrics(const std::string& work_dir) { return segdistill_test::metrics_records(work_dir); }

void wait_for(const fs::path& file, pid_t pid) {
  for (int i = 0; i < 6000 && !fs::exists(file); ++i) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) FAIL() << "the run ended before " << file;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(fs::exists(file)) << file;
}

}  // namespace

TEST_F(Training, WritesTheWorkDirOfDesign) {
  const std::string cfg = config("outputs", "eval_every = 6\n");
  const auto r = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("outputs")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path w(work("outputs"));
  for (const char* file : {"config.toml", "log.txt", "metrics.jsonl", "checkpoints/latest", "checkpoints/iter_12.pt",
                           "eval/iter_6.txt", "eval/iter_6.json", "eval/iter_12.json"})
    EXPECT_TRUE(fs::exists(w / file)) << file;
  for (const auto& entry : fs::directory_iterator(w / "checkpoints"))
    EXPECT_NE(entry.path().extension(), ".tmp") << "a temporary file was left: " << entry.path();
  EXPECT_EQ(fs::read_symlink(w / "checkpoints/latest"), "iter_12.pt");
  // The resolved config loads back and trains the same network.
  EXPECT_EQ(run_segdistill({"config", "check", (w / "config.toml").string()}).exit_code, 0);
  const auto records = metrics(w.string());
  int train_records = 0, val_records = 0;
  for (const auto& rec : records) {
    if (rec["type"] == "train") {
      ++train_records;
      EXPECT_TRUE(rec.contains("loss_ce") && rec.contains("lr") && rec.contains("images_per_second"));
    } else {
      ++val_records;
      EXPECT_TRUE(rec.contains("mIoU"));
    }
  }
  EXPECT_EQ(train_records, 6);
  EXPECT_EQ(val_records, 2);
  EXPECT_TRUE(contains(r.out, "trained 12 iterations"));
}

TEST_F(Training, ResumeAfterKillMinus9GivesTheSameWeights) {
  const std::string cfg = config("resume");
  ASSERT_EQ(run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("straight")}).exit_code, 0);
  const pid_t pid = spawn_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("killed")});
  wait_for(fs::path(work("killed")) / "checkpoints/iter_4.pt", pid);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_FALSE(fs::exists(fs::path(work("killed")) / "checkpoints/iter_12.pt"));
  const auto resumed = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("killed"), "--resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  expect_identical(model_of(work("straight") + "/checkpoints/iter_12.pt"), model_of(work("killed") + "/checkpoints/iter_12.pt"));
  // metrics.jsonl holds each record once: the records after the checkpoint were redone.
  std::set<std::pair<std::string, std::int64_t>> records;
  for (const auto& rec : metrics(work("killed")))
    EXPECT_TRUE(records.insert({rec["type"].get<std::string>(), rec["iter"].get<std::int64_t>()}).second) << rec.dump();
  EXPECT_EQ(records.size(), metrics(work("straight")).size());
}

TEST_F(Training, SigintSavesACheckpointAndResumes) {
  const std::string cfg = config("sigint");
  const std::vector<std::string> longer{"--set", "train.checkpoint_every=100", "--set", "train.iterations=60"};
  std::vector<std::string> straight{"--threads", "1", "train", cfg, "--work-dir", work("sigint_straight")};
  straight.insert(straight.end(), longer.begin(), longer.end());
  ASSERT_EQ(run_segdistill(straight).exit_code, 0);
  std::vector<std::string> interrupted{"--threads", "1", "train", cfg, "--work-dir", work("sigint")};
  interrupted.insert(interrupted.end(), longer.begin(), longer.end());
  const pid_t pid = spawn_segdistill(interrupted);
  wait_for(fs::path(work("sigint")) / "metrics.jsonl", pid);  // training has started
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGINT);
  const auto latest = fs::read_symlink(fs::path(work("sigint")) / "checkpoints/latest");
  EXPECT_NE(latest, "iter_60.pt");  // stopped early, with a checkpoint of where it was
  interrupted.push_back("--resume");
  const auto resumed = run_segdistill(interrupted);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  expect_identical(model_of(work("sigint_straight") + "/checkpoints/iter_60.pt"),
                   model_of(work("sigint") + "/checkpoints/iter_60.pt"));
}

TEST_F(Training, NonFiniteLossStopsNamingTheLastGoodCheckpoint) {
  const std::string cfg = config("nan");
  const auto r = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("nan"), "--set", "train.optimizer.lr=100",
                                 "--set", "train.checkpoint_every=2", "--set", "train.iterations=60", "--set",
                                 "train.lr_schedule={type=\"step\", steps=[1000]}"});
  EXPECT_EQ(r.exit_code, 1);
  // The loss turns NaN, or before it the BatchNorm statistics overflow: either stops the
  // run, and the checkpoint it calls the last good one holds finite values only.
  const bool loss = contains(r.err, "loss is not finite at iteration ") && contains(r.err, "loss_ce=");
  const bool state = contains(r.err, "state holds NaN or Inf") && contains(r.err, "so no checkpoint was written");
  EXPECT_TRUE(loss || state) << r.err;
  const std::string named = work("nan") + "/checkpoints/iter_";
  const auto at = r.err.find(named);
  ASSERT_NE(at, std::string::npos) << r.err;
  EXPECT_TRUE(contains(r.err, "ast good checkpoint is " + named)) << r.err;
  const std::string last_good = r.err.substr(at, r.err.find(".pt", at) + 3 - at);
  const Checkpoint checkpoint = load_checkpoint(last_good);  // refuses NaN or Inf
  for (const auto& [group, tensors] : checkpoint.groups)
    for (const auto& [name, tensor] : tensors)
      if (tensor.is_floating_point()) {
        EXPECT_TRUE(torch::isfinite(tensor).all().item<bool>()) << group << "/" << name;
      }
  EXPECT_TRUE(contains(segdistill_test::read_file(work("nan") + "/log.txt"), "[error] error: "))
      << "log.txt lacks the fatal error";
}

TEST_F(Training, AFailedCheckpointWriteKeepsThePreviousOne) {
  const std::string cfg = config("full");
  ASSERT_EQ(run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("full"), "--set", "train.iterations=4"}).exit_code,
            0);
  // A folder where iter_8.pt goes: the continued run's write of iter_8 fails at its rename.
  fs::create_directories(fs::path(work("full")) / "checkpoints/iter_8.pt/occupied");
  const auto r = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("full"), "--resume", "--resume-changed"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "iter_8.pt: cannot write the checkpoint")) << r.err;
  EXPECT_TRUE(contains(r.err, "the last good checkpoint is " + work("full") + "/checkpoints/iter_4.pt")) << r.err;
  EXPECT_EQ(load_checkpoint(work("full") + "/checkpoints/iter_4.pt").iteration, 4);
  EXPECT_EQ(fs::read_symlink(fs::path(work("full")) / "checkpoints/latest"), "iter_4.pt");
}

TEST_F(Training, AUsedWorkDirIsRefusedUnlessResumedOrMovedAside) {
  const std::string cfg = config("used");
  ASSERT_EQ(run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("used")}).exit_code, 0);
  const fs::path w(work("used"));
  const std::string config_before = segdistill_test::read_file(w / "config.toml");
  const std::string metrics_before = segdistill_test::read_file(w / "metrics.jsonl");
  const auto again = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", w.string(), "--set", "train.seed=9"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(contains(again.err, w.string() + ": the work dir holds a previous run (config.toml, metrics.jsonl, log.txt, "
                                               "checkpoints/, eval/); continue it with --resume, start afresh with --overwrite"))
      << again.err;
  EXPECT_EQ(segdistill_test::read_file(w / "config.toml"), config_before);
  EXPECT_EQ(segdistill_test::read_file(w / "metrics.jsonl"), metrics_before);
  for (const char* file : {"iter_4.pt", "iter_8.pt", "iter_12.pt"}) EXPECT_TRUE(fs::exists(w / "checkpoints" / file)) << file;

  const auto overwrite =
      run_segdistill({"--threads", "1", "train", cfg, "--work-dir", w.string(), "--overwrite", "--set", "train.iterations=4"});
  ASSERT_EQ(overwrite.exit_code, 0) << overwrite.err;
  const fs::path aside(w.string() + ".replaced-1");
  EXPECT_TRUE(contains(overwrite.err, "moved the previous run of " + w.string() + " to " + aside.string())) << overwrite.err;
  EXPECT_EQ(segdistill_test::read_file(aside / "config.toml"), config_before);
  EXPECT_EQ(segdistill_test::read_file(aside / "metrics.jsonl"), metrics_before);
  EXPECT_TRUE(fs::exists(aside / "checkpoints/iter_12.pt"));
  EXPECT_FALSE(fs::exists(w / "checkpoints/iter_12.pt"));
  EXPECT_EQ(fs::read_symlink(w / "checkpoints/latest"), "iter_4.pt");
  for (const auto& record : metrics(w.string()))
    EXPECT_LE(record["iter"].get<std::int64_t>(), 4) << record.dump();  // the new run's alone
}

TEST_F(Training, TwoRunsNeverShareAWorkDir) {
  const std::string cfg = config("locked");
  const pid_t first =
      spawn_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("locked"), "--set", "train.iterations=2000"});
  wait_for(fs::path(work("locked")) / "metrics.jsonl", first);
  const auto second = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("locked"), "--resume"});
  kill(first, SIGKILL);
  int status = 0;
  waitpid(first, &status, 0);
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_TRUE(contains(
      second.err, work("locked") + ": another segdistill run is using this work dir (process " + std::to_string(first) + ")"))
      << second.err;
}

TEST_F(Training, ResumeRefusesAChangedConfigBeforeWritingAnything) {
  const std::string cfg = config("changed");
  ASSERT_EQ(
      run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("changed"), "--set", "train.iterations=8"}).exit_code,
      0);
  const fs::path w(work("changed"));
  const std::string config_before = segdistill_test::read_file(w / "config.toml");
  const std::string log_before = segdistill_test::read_file(w / "log.txt");
  const std::vector<std::string> resume{
      "--threads",          "1",     "train",        cfg,     "--work-dir",        w.string(), "--resume", "--set",
      "train.iterations=8", "--set", "train.seed=4", "--set", "train.batch_size=2"};
  const auto refused = run_segdistill(resume);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(contains(refused.err, "the config differs from the one " + w.string() + "/checkpoints/iter_8.pt was trained with"))
      << refused.err;
  EXPECT_TRUE(contains(refused.err, "train.batch_size: 4 -> 2")) << refused.err;
  EXPECT_TRUE(contains(refused.err, "train.seed: 3 -> 4")) << refused.err;
  EXPECT_TRUE(contains(refused.err, "--resume-changed")) << refused.err;
  EXPECT_EQ(segdistill_test::read_file(w / "config.toml"), config_before);
  EXPECT_EQ(segdistill_test::read_file(w / "log.txt"), log_before);

  // A resume that fails on the checkpoint (another network) writes nothing either.
  const auto wider = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", w.string(), "--resume", "--resume-changed",
                                     "--set", "train.iterations=8", "--set", "model.backbone.width=0.25"});
  EXPECT_EQ(wider.exit_code, 1);
  EXPECT_TRUE(contains(wider.err, "checkpoint of another model")) << wider.err;
  EXPECT_EQ(segdistill_test::read_file(w / "config.toml"), config_before);

  // Harmless changes (how often to log) pass; --resume-changed takes the rest and says so.
  std::vector<std::string> changed = resume;
  changed.insert(changed.end(), {"--set", "train.iterations=10", "--set", "train.log_every=1", "--resume-changed"});
  const auto resumed = run_segdistill(changed);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_TRUE(contains(resumed.err, "config changed (harmless): train.log_every: 2 -> 1")) << resumed.err;
  EXPECT_TRUE(contains(resumed.err, "resume with --resume-changed: train.seed: 3 -> 4")) << resumed.err;
  EXPECT_TRUE(contains(segdistill_test::read_file(w / "config.toml"), "seed = 4"));
}

TEST_F(Training, ADanglingLatestResumesFromTheNewestCheckpoint) {
  const std::string cfg = config("dangling");
  ASSERT_EQ(run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("dangling")}).exit_code, 0);
  const fs::path checkpoints = fs::path(work("dangling")) / "checkpoints";
  fs::remove(checkpoints / "iter_12.pt");
  const auto resumed = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("dangling"), "--resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_TRUE(contains(resumed.err, (checkpoints / "latest").string() +
                                        " points at a missing file; using the newest checkpoint, " +
                                        (checkpoints / "iter_8.pt").string()))
      << resumed.err;
  EXPECT_TRUE(contains(resumed.err, "at iteration 8")) << resumed.err;
  EXPECT_TRUE(fs::exists(checkpoints / "iter_12.pt"));
}

TEST_F(Training, ProblemsFoundBeforeTheFirstIteration) {
  const std::string teacher_block = std::string("[teacher]\n") + kTeacher;
  const std::string feature = config("feature",
                                     "[[distillers]]\ntype = \"tat_anchor_point\"\nstudent_feature = \"head.decodr\"\n"
                                     "teacher_feature = \"head.decoder\"\nanchors = [4, 4]\n" +
                                         teacher_block);
  const auto r = run_segdistill({"train", feature, "--work-dir", work("feature")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err,
                       "distillers.0.student_feature (student): the network has no feature 'head.decodr' (did you mean "
                       "'head.decoder'?); available features: backbone.layer1"))
      << r.err;
  EXPECT_FALSE(fs::exists(work("feature")));

  // A teacher checkpoint of another network.
  ASSERT_EQ(
      run_segdistill({"--threads", "1", "train", config("small"), "--work-dir", work("small"), "--set", "train.iterations=1"})
          .exit_code,
      0);
  const std::string wrong = config("wrong",
                                   "[[distillers]]\ntype = \"tat_anchor_point\"\nstudent_feature = \"head.decoder\"\n"
                                   "teacher_feature = \"head.decoder\"\nanchors = [4, 4]\n" +
                                       teacher_block + "checkpoint = \"" + work("small") + "/checkpoints/latest\"\n");
  const auto mismatch = run_segdistill({"train", wrong, "--work-dir", work("wrong")});
  EXPECT_EQ(mismatch.exit_code, 1);
  EXPECT_TRUE(
      contains(mismatch.err, "teacher.checkpoint " + work("small") + "/checkpoints/latest: checkpoint of another model: 'aspp."))
      << mismatch.err;
  const auto resume = run_segdistill({"train", config("none"), "--work-dir", work("none"), "--resume"});
  EXPECT_EQ(resume.exit_code, 1);
  EXPECT_TRUE(contains(resume.err, "--resume: no checkpoint in " + work("none") + "/checkpoints")) << resume.err;

  // A val split that cannot be read: at set-up, not at the first validation after training.
  const auto val = run_segdistill({"train", config("val"), "--work-dir", work("val"), "--set", "data.val.split=\"nosuch\""});
  EXPECT_EQ(val.exit_code, 1);
  EXPECT_TRUE(contains(
      val.err, "data.val.split: " + (dir_->path() / "toy").string() + "/ImageSets/Segmentation/nosuch.txt: split list not found"))
      << val.err;
  EXPECT_FALSE(fs::exists(work("val")));
}

TEST_F(Training, TatDistillationRunLogsEachTermAndExportsTheStudent) {
  const std::string teacher_cfg = dir_->write("t.toml", "_base_ = \"" + config("tbase") + "\"\n[model]\n" + kTeacher);
  ASSERT_EQ(run_segdistill({"--threads", "1", "train", teacher_cfg, "--work-dir", work("teacher"), "--set", "train.iterations=4"})
                .exit_code,
            0);
  const std::string tat =
      config("tat", std::string("[teacher]\n") + kTeacher + "checkpoint = \"" + work("teacher") +
                        "/checkpoints/latest\"\n[[distillers]]\ntype = \"tat_patch_group\"\nstudent_feature = "
                        "\"head.decoder\"\nteacher_feature = \"head.decoder\"\nweight = 0.1\npatches = [2, 2]\n"
                        "heads = 4\n[[distillers]]\ntype = \"tat_anchor_point\"\nstudent_feature = \"head.decoder\"\n"
                        "teacher_feature = \"head.decoder\"\nweight = 0.04\nanchors = [4, 4]\n"
                        "[[distillers]]\ntype = \"kd\"\nstudent_feature = \"logits\"\nteacher_feature = \"logits\"\n"
                        "weight = 0.5\n");
  const auto r = run_segdistill({"--threads", "1", "train", tat, "--work-dir", work("tat"), "--set", "train.iterations=4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto records = metrics(work("tat"));
  const auto& first = records.front();
  for (const char* term : {"loss", "loss_ce", "loss_tat_patch_group", "loss_tat_anchor_point", "loss_kd"})
    EXPECT_TRUE(first.contains(term)) << term << " " << first.dump();
  const Checkpoint ckpt = load_checkpoint(work("tat") + "/checkpoints/latest");
  EXPECT_TRUE(ckpt.groups.at("distillers").count("0.embed_query.conv2d.weight"));
  const auto exported = work("tat") + "/student.pt";
  ASSERT_EQ(run_segdistill({"export-checkpoint", tat, "--checkpoint", work("tat") + "/checkpoints/latest", "--output", exported})
                .exit_code,
            0);
  const auto student = read_pytorch_state_dict(exported).tensors;
  EXPECT_EQ(student.size(), ckpt.groups.at("model").size());
  for (const auto& [name, tensor] : student) EXPECT_EQ(name.find("embed"), std::string::npos) << name;

  // --section distillers: the checkpoint's embeddings as a dict torch.load reads; without
  // --checkpoint, the embeddings training started from (the teacher's file is read too).
  const auto distillers = work("tat") + "/distillers.pt";
  ASSERT_EQ(run_segdistill({"export-checkpoint", tat, "--section", "distillers", "--checkpoint",
                            work("tat") + "/checkpoints/latest", "--output", distillers})
                .exit_code,
            0);
  const auto embeddings = read_pytorch_state_dict(distillers).tensors;
  ASSERT_EQ(embeddings.size(), ckpt.groups.at("distillers").size());
  for (const auto& [name, tensor] : ckpt.groups.at("distillers")) EXPECT_TRUE(torch::equal(embeddings.at(name), tensor)) << name;
  const auto initial = work("tat") + "/distillers0.pt";
  ASSERT_EQ(run_segdistill({"export-checkpoint", tat, "--section", "distillers", "--output", initial}).exit_code, 0);
  const auto start = read_pytorch_state_dict(initial).tensors;
  // The conv weights moved in training; the BatchNorm weights started at 1.
  EXPECT_FALSE(torch::equal(start.at("0.embed_query.conv2d.weight"), embeddings.at("0.embed_query.conv2d.weight")));
  EXPECT_TRUE(torch::equal(start.at("1.embed_key.norm.weight"), torch::ones_like(start.at("1.embed_key.norm.weight"))));
  // The published embeddings keep PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  const at::Tensor query = start.at("0.embed_query.conv2d.weight");
  const double bound = 1.0 / std::sqrt(static_cast<double>(query.size(1)));
  EXPECT_LE(query.abs().max().item<double>(), bound);
  EXPECT_NEAR(query.std().item<double>(), bound / std::sqrt(3.0), 0.15 * bound / std::sqrt(3.0));
  // A run without [[distillers]] has none to export.
  const auto none = run_segdistill({"export-checkpoint", teacher_cfg, "--section", "distillers", "--output", work("x.pt")});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_TRUE(contains(none.err, "no distillers to export")) << none.err;
}

// The published comparison distillers and TaT's other attention types train on the toy
// task: every term is logged, and each falls as the student learns from the fixed teacher.
TEST_F(Training, PublishedComparisonDistillersReviewKdAndAttentionTypesTrainAndTheirTermsFall) {
  ASSERT_NO_FATAL_FAILURE(train_teacher("teacher_c", 8));
  std::string distillers;
  const auto add = [&](const std::string& type, const std::string& feature, double weight, const std::string& extra) {
    distillers += "[[distillers]]\ntype = \"" + type + "\"\nstudent_feature = \"" + feature + "\"\nteacher_feature = \"" +
                  feature + "\"\nweight = " + std::to_string(weight) + "\n" + extra;
  };
  add("kd_width", "head.decoder", 1.0, "");
  add("at", "head.decoder", 10.0, "");
  add("fitnet_plain", "head.decoder", 1.0, "");
  add("ch", "head.decoder", 100.0, "patches = [2, 2]\n");
  add("tat_patch_group", "head.decoder", 1.0, "patches = [2, 2]\nheads = 4\nattention = \"batch\"\n");
  add("tat_patch_group", "head.decoder", 0.1,
      "patches = [2, 2]\nattention = \"spatial\"\nwindow = [1, 2]\nname = \"tat_spatial\"\n");
  add("tat_anchor_point", "head.decoder", 0.04, "anchors = [4, 4]\nheads = 2\n");
  const std::string levels =
      "[\"backbone.layer1\", \"backbone.layer2\", \"backbone.layer3\", \"backbone.layer4\", \"head.aspp_pre_relu\", "
      "\"head.decoder\"]";
  distillers += "[[distillers]]\ntype = \"reviewkd\"\nstudent_features = " + levels + "\nteacher_features = " + levels +
                "\nmid_channels = 16\nweight = 1.0\n";
  // A one-pair distiller given lists is refused before it is built (what it takes is
  // declared at registration), naming the key and the type: "at" would build on any pair,
  // fitnet_plain would fail on the first level (8 vs 16 channels); both get the same message.
  const auto refused_with = [&](const std::string& type, const std::string& expected) {
    const std::string listed =
        config("listed_" + type, std::string("[teacher]\n") + kTeacher + "checkpoint = \"" + work("teacher_c") +
                                     "/checkpoints/latest\"\n[[distillers]]\ntype = \"" + type +
                                     "\"\nstudent_features = " + levels + "\nteacher_features = " + levels + "\n");
    const auto refused = run_segdistill({"--threads", "1", "train", listed, "--work-dir", work("listed_" + type)});
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_NE(refused.err.find("distillers.0.student_features"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find(expected), std::string::npos) << refused.err;
  };
  refused_with("at", "'at' distils one feature pair");
  refused_with("fitnet_plain", "'fitnet_plain' distils one feature pair");
  const std::string run = config("comparison", std::string("[teacher]\n") + kTeacher + "checkpoint = \"" + work("teacher_c") +
                                                   "/checkpoints/latest\"\n" + distillers);
  const auto r = run_segdistill({"--threads", "1", "train", run, "--work-dir", work("comparison"), "--set",
                                 "train.iterations=100", "--set", "train.log_every=1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto records = segdistill_test::metrics_records(work("comparison"), "train");
  ASSERT_EQ(records.size(), 100u);
  for (const char* term : {"loss_kd_width", "loss_at", "loss_fitnet_plain", "loss_ch", "loss_tat_patch_group", "loss_tat_spatial",
                           "loss_tat_anchor_point", "loss_reviewkd"}) {
    double first = 0, last = 0;
    for (int i = 0; i < 8; ++i) {
      ASSERT_TRUE(records[static_cast<std::size_t>(i)].contains(term)) << term;
      first += records[static_cast<std::size_t>(i)][term].get<double>();
      last += records[records.size() - 1 - static_cast<std::size_t>(i)][term].get<double>();
    }
    EXPECT_LT(last, first) << term << ": mean of the first 8 iterations " << first / 8 << ", of the last 8 " << last / 8;
  }
}

// The distillers that take the labels (IFVD, the CIRKD memories) and the one that steps a
// discriminator of its own train on the toy task, and a run killed after its checkpoint
// resumes to the same weights, memories, discriminator and Adam moments as a straight run.
TEST_F(Training, LabelledAndSelfSteppedDistillersTrainAndResumeExactly) {
  ASSERT_NO_FATAL_FAILURE(train_teacher("teacher_l", 4));
  // 64 x 64 crops: the discriminator's smallest score map.
  const std::string pipeline =
      "[{type = \"random_flip\"}, {type = \"random_scale_crop\", base_size = 64, crop_size = [64], scale_range = [1.0, 1.25]}, "
      "{type = \"normalize\"}]";
  const std::string train =
      "iterations = 8\nbatch_size = 4\nworkers = 2\nseed = 3\noptimizer = {lr = 0.01}\nlog_every = 1\ncheckpoint_every = 4\n"
      "keep_last = 5\n";
  const std::string distillers =
      std::string("[teacher]\n") + kTeacher + "checkpoint = \"" + work("teacher_l") +
      "/checkpoints/latest\"\n"
      "[[distillers]]\ntype = \"cirkd_ifvd\"\nstudent_feature = \"head.decoder\"\nteacher_feature = \"head.decoder\"\nweight = "
      "20.0\n"
      "[[distillers]]\ntype = \"cirkd_memory\"\nstudent_feature = \"head.decoder\"\nteacher_feature = \"head.decoder\"\n"
      "weight = 0.1\npixel_memory_size = 200\npixels_per_class = 50\nregion_memory_size = 20\nregions_per_class = 5\n"
      "[[distillers]]\ntype = \"cirkd_adversarial\"\nweight = 0.001\n";
  const std::string cfg = dir_->write(
      "labelled.toml", segdistill_test::toy_run_config((dir_->path() / "toy").string(), pipeline, kStudent + distillers, train));
  const auto straight = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("labelled")});
  ASSERT_EQ(straight.exit_code, 0) << straight.err;
  EXPECT_TRUE(contains(straight.out + straight.err, "(and 26 the distillers step themselves)")) << straight.out;
  const auto records = segdistill_test::metrics_records(work("labelled"), "train");
  ASSERT_EQ(records.size(), 8u);
  for (const char* term : {"loss_cirkd_ifvd", "loss_cirkd_memory.cirkd_memory_pixel", "loss_cirkd_memory.cirkd_memory_region",
                           "loss_cirkd_adversarial", "cirkd_adversarial.discriminator_loss"})
    EXPECT_TRUE(records.back().contains(term)) << term << " missing from " << records.back().dump();
  const TensorDict at4 = segdistill_test::checkpoint_group(work("labelled") + "/checkpoints/iter_4.pt", "distillers");
  const TensorDict at8 = segdistill_test::checkpoint_group(work("labelled") + "/checkpoints/iter_8.pt", "distillers");
  EXPECT_EQ(at8.at("2.adam.steps").item<std::int64_t>(), 8);
  EXPECT_EQ(at8.at("1.draws").item<std::int64_t>(), 8);
  EXPECT_FALSE(torch::equal(at4.at("2.discriminator.l1.0.module.weight_bar"), at8.at("2.discriminator.l1.0.module.weight_bar")));
  EXPECT_FALSE(torch::equal(at4.at("1.teacher_pixel_queue"), at8.at("1.teacher_pixel_queue")));

  // Resumed from iteration 4 in a copy of the work dir (its later checkpoints removed).
  fs::copy(work("labelled"), work("labelled_resumed"), fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  fs::remove(fs::path(work("labelled_resumed")) / "checkpoints/iter_8.pt");
  fs::remove(fs::path(work("labelled_resumed")) / "checkpoints/latest");
  fs::create_symlink("iter_4.pt", fs::path(work("labelled_resumed")) / "checkpoints/latest");
  const auto resumed = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("labelled_resumed"), "--resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  for (const char* group : {"model", "distillers"})
    expect_identical(segdistill_test::checkpoint_group(work("labelled") + "/checkpoints/iter_8.pt", group),
                     segdistill_test::checkpoint_group(work("labelled_resumed") + "/checkpoints/iter_8.pt", group));
}

TEST_F(Training, AZeroWeightDistillerLeavesTheStudentsTrainingUnchanged) {
  // Building the teacher draws random numbers; the student's dropout must not see other
  // masks because of it, or a distillation run would differ from its baseline by chance.
  ASSERT_NO_FATAL_FAILURE(train_teacher("teacher0", 2));
  const std::string plain = config("plain");
  const std::string zero =
      config("zero", std::string("[teacher]\n") + kTeacher + "checkpoint = \"" + work("teacher0") +
                         "/checkpoints/latest\"\n[[distillers]]\ntype = \"kd\"\nstudent_feature = \"logits\"\n"
                         "teacher_feature = \"logits\"\nweight = 0.0\n");
  ASSERT_EQ(run_segdistill({"--threads", "1", "train", plain, "--work-dir", work("plain")}).exit_code, 0);
  const auto r = run_segdistill({"--threads", "1", "train", zero, "--work-dir", work("zero")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_identical(model_of(work("plain") + "/checkpoints/iter_12.pt"), model_of(work("zero") + "/checkpoints/iter_12.pt"));
}

bool is_batch_norm_statistic(const std::string& name) {
  const auto ends_with = [&](const std::string& end) {
    return name.size() >= end.size() && name.compare(name.size() - end.size(), end.size(), end) == 0;
  };
  return ends_with("running_mean") || ends_with("running_var");
}

TEST_F(Training, PreciseBatchNormChangesTheStatisticsAlone) {
  // Validations every 4 iterations, once with precise statistics: the weights, the
  // random stream (the same losses) and the batch counters come out the same.
  ASSERT_EQ(run_segdistill({"--threads", "1", "train", config("pbn_plain", "eval_every = 4\n"), "--work-dir", work("pbn_plain")})
                .exit_code,
            0);
  const auto r = run_segdistill({"--threads", "1", "train", config("pbn_precise", "eval_every = 4\nprecise_bn_batches = 3\n"),
                                 "--work-dir", work("pbn_precise")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const TensorDict plain = model_of(work("pbn_plain") + "/checkpoints/iter_12.pt");
  const TensorDict precise = model_of(work("pbn_precise") + "/checkpoints/iter_12.pt");
  int statistics_changed = 0;
  for (const auto& [name, tensor] : plain) {
    if (is_batch_norm_statistic(name))
      statistics_changed += !torch::equal(tensor, precise.at(name));
    else
      EXPECT_TRUE(torch::equal(tensor, precise.at(name))) << name;
  }
  EXPECT_GT(statistics_changed, 0);
  const auto losses = [](const std::string& dir) {
    std::vector<double> out;
    for (const auto& record : metrics(dir))
      if (record["type"] == "train") out.push_back(record["loss"].get<double>());
    return out;
  };
  EXPECT_EQ(losses(work("pbn_plain")), losses(work("pbn_precise")));
}

TEST_F(Training, PreciseBatchNormMeasuresTheWeightsNotTheLastBatches) {
  // Fixed weights (learning rate 0, from one checkpoint), whole images, one epoch of
  // statistics: the stem's BatchNorm mean (its input does not depend on the batch, unlike
  // the deeper layers', which follow batch-normalised ones) is then the mean over the same
  // 24 images whatever the batches' order (train.seed), up to float sums in another
  // order; the running averages of the last batches differ with the order.
  ASSERT_EQ(run_segdistill({"--threads", "1", "train", config("pbn_start"), "--work-dir", work("pbn_start")}).exit_code, 0);
  const auto run = [&](const std::string& name, int seed, int precise_batches, int threads) {
    const std::string cfg = dir_->write(
        name + ".toml",
        segdistill_test::toy_run_config(
            (dir_->path() / "toy").string(), "[{type = \"normalize\"}]",
            kStudent + "init_from = \"" + work("pbn_start") + "/checkpoints/iter_12.pt\"\n",
            "iterations = 6\nbatch_size = 4\nworkers = 1\nseed = " + std::to_string(seed) +
                "\noptimizer = {lr = 0.0}\neval_every = 6\nprecise_bn_batches = " + std::to_string(precise_batches) + "\n"));
    const auto r = run_segdistill({"--threads", std::to_string(threads), "train", cfg, "--work-dir", work(name)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return model_of(work(name) + "/checkpoints/latest");
  };
  const auto spread = [](const TensorDict& a, const TensorDict& b) {
    const std::string stem = "backbone.bn1.running_mean";
    return segdistill_test::relative_difference(a.at(stem), b.at(stem), 1e-3);
  };
  const TensorDict precise_a = run("pbn_seed1", 1, 6, 1), precise_b = run("pbn_seed2", 2, 6, 1);
  // The noise floor: the same batches summed by two threads.
  const double floor = spread(precise_a, run("pbn_seed1_threads2", 1, 6, 2));
  const double running = spread(run("pbn_running1", 1, 0, 1), run("pbn_running2", 2, 0, 1));
  segdistill_test::expect_within("precise means, two batch orders", spread(precise_a, precise_b),
                                 segdistill_test::from_floor(floor, 10, 1e-5));
  EXPECT_GT(running, 100 * segdistill_test::from_floor(floor, 10, 1e-5)) << "the running averages do depend on the order";
}

TEST_F(Training, PreciseBatchNormDrawsTheSameBatchesAtEveryValidation) {
  // Fixed weights (learning rate 0), two validations from a sample of 2 of the epoch's 6
  // batches: the same batches both times, so the statistics come out bit for bit the same
  // and what moves between two validations of a real run is the weights alone.
  ASSERT_EQ(
      run_segdistill({"--threads", "1", "train", config("pbn_fixed_start"), "--work-dir", work("pbn_fixed_start")}).exit_code, 0);
  const std::string cfg = dir_->write(
      "pbn_fixed.toml",
      segdistill_test::toy_run_config(
          (dir_->path() / "toy").string(), "[{type = \"random_flip\"}, {type = \"normalize\"}]",
          kStudent + "init_from = \"" + work("pbn_fixed_start") + "/checkpoints/iter_12.pt\"\n",
          "iterations = 6\nbatch_size = 4\nworkers = 1\noptimizer = {lr = 0.0}\neval_every = 3\ncheckpoint_every = 3\n"
          "keep_last = 2\nprecise_bn_batches = 2\n"));
  const auto r = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("pbn_fixed")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const TensorDict first = model_of(work("pbn_fixed") + "/checkpoints/iter_3.pt");
  const TensorDict second = model_of(work("pbn_fixed") + "/checkpoints/iter_6.pt");
  int statistics = 0;
  for (const auto& [name, tensor] : first) {
    if (!is_batch_norm_statistic(name)) continue;
    ++statistics;
    EXPECT_TRUE(torch::equal(tensor, second.at(name))) << name;
  }
  EXPECT_GT(statistics, 0);
}

TEST_F(Training, ToyStudentLearnsFarBeyondChance) {
  // A longer run on a larger toy set: validation every 100 iterations in metrics.jsonl.
  TempDir data;
  toy::write_toy_dataset({(data.path() / "toy").string(), 11, 120, 30, 64, 64});
  const std::string root = (data.path() / "toy").string();
  const std::string cfg = data.write(
      "learn.toml", "_base_ = \"" + std::string(SEGDISTILL_SOURCE_DIR) + "/configs/toy/student.toml\"\n" +
                        "[data.train]\nroot = \"" + root + "\"\npipeline = [{type = \"random_flip\"}, " +
                        "{type = \"random_scale_crop\", base_size = 64, crop_size = [48], scale_range = [0.75, 1.5]}, " +
                        "{type = \"normalize\"}]\n[data.val]\nroot = \"" + root + "\"\n" +
                        // A student of width 0.125: the demo's even smaller one
                        // needs a teacher to learn reliably.
                        "[model.backbone]\nwidth = 0.125\n[model.head]\naspp_channels = 32\n"
                        "low_level_channels = 8\ndecoder_channels = 32\n"
                        "[train]\niterations = 300\neval_every = 100\n");
  const auto r = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("learn")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<double> miou;
  for (const auto& rec : metrics(work("learn")))
    if (rec["type"] == "val") miou.push_back(rec["mIoU"].get<double>());
  ASSERT_EQ(miou.size(), 3u);  // iterations 100, 200, 300
  // Predicting background everywhere scores about 0.14 (background IoU ~0.8, 5 classes 0).
  EXPECT_GT(miou.back(), 0.4) << "final mIoU " << miou.back();
}

// What a run writes lands in its work dir: links planted there are refused or never
// written through (issue #32).
TEST_F(Training, PlantedLinksInTheWorkDirAreNeverWrittenThrough) {
  const std::string cfg = config("links");
  const fs::path outside = dir_->path() / "outside.txt";
  std::ofstream(outside) << "precious\n";
  // A link at the temporary name of a checkpoint write: the write takes a fresh name.
  const fs::path run = work("links");
  fs::create_directories(run / "checkpoints");
  fs::create_symlink(outside, run / "checkpoints/iter_4.pt.tmp");
  const auto trained = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", run.string()});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_EQ(segdistill_test::read_file(outside), "precious\n");
  EXPECT_EQ(load_checkpoint((run / "checkpoints/iter_4.pt").string()).iteration, 4);

  // Links in place of the run's logs or its checkpoints folder: resume refuses the folder.
  const auto refused_with = [&](const std::string& name, const fs::path& target, const std::string& what) {
    SCOPED_TRACE(name);
    const fs::path copy = work("links_" + what);
    fs::copy(run, copy, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    fs::remove_all(copy / name);
    fs::create_symlink(target, copy / name);
    const auto r = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", copy.string(), "--resume", "--resume-changed",
                                   "--set", "train.iterations=16"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(contains(r.err, (copy / name).string() + " is a symbolic link (to " + target.string() +
                                    "); segdistill writes a run's files only inside its work dir"))
        << r.err;
  };
  refused_with("log.txt", outside, "log");
  refused_with("metrics.jsonl", outside, "metrics");
  refused_with("checkpoints", run / "checkpoints", "checkpoints");
  EXPECT_EQ(segdistill_test::read_file(outside), "precious\n");
  std::vector<std::string> kept;
  for (const auto& entry : fs::directory_iterator(run / "checkpoints")) kept.push_back(entry.path().filename().string());
  EXPECT_EQ(kept.size(), 5u) << "another run's checkpoints were pruned";  // iter_4.pt.tmp, iter_4/8/12.pt, latest

  // `latest` leading out of the checkpoints folder is not this run's checkpoint.
  const fs::path foreign = work("links_latest");
  fs::copy(run, foreign, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  fs::remove(foreign / "checkpoints/latest");
  fs::create_symlink(run / "checkpoints/iter_8.pt", foreign / "checkpoints/latest");
  const auto latest = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", foreign.string(), "--resume"});
  EXPECT_EQ(latest.exit_code, 1);
  EXPECT_TRUE(contains(latest.err, (foreign / "checkpoints/latest").string() + " points at " +
                                       (run / "checkpoints/iter_8.pt").string() + ", outside the run's checkpoints folder"))
      << latest.err;
}

// A run that cannot fit in the machine's memory is refused at set-up with its estimate
// (issue #32: crop_size = [16384] reached 13 GB before failing a minute in).
TEST_F(Training, ARunThatCannotFitInMemoryIsRefusedAtSetUp) {
  const auto huge = run_segdistill(
      {"--threads", "1", "train", config("huge_crop"), "--work-dir", work("huge_crop"), "--set",
       "data.train.pipeline=[{type=\"random_scale_crop\", base_size=16384, crop_size=[16384], scale_range=[1.0, 1.0]}, "
       "{type=\"normalize\"}]"});
  EXPECT_EQ(huge.exit_code, 1);
  EXPECT_TRUE(contains(huge.err, "huge_crop.toml: this run needs about ")) << huge.err;
  EXPECT_TRUE(contains(huge.err, "the student's activations at 4 x 16384x16384 pixels")) << huge.err;
  EXPECT_TRUE(contains(huge.err, "lower train.batch_size or the crop size in data.train.pipeline")) << huge.err;
  EXPECT_FALSE(fs::exists(fs::path(work("huge_crop")) / "checkpoints")) << "the run started";
  const auto classes = run_segdistill(
      {"--threads", "1", "train", config("classes"), "--work-dir", work("classes"), "--set", "model.num_classes=100000000"});
  EXPECT_EQ(classes.exit_code, 1);
  EXPECT_TRUE(contains(classes.err, "model.num_classes: value 100000000 out of range: must be between 1.0 and 65536.0"))
      << classes.err;
  // The toy run itself is estimated and fits.
  const auto fits =
      run_segdistill({"--threads", "1", "train", config("fits"), "--work-dir", work("fits"), "--set", "train.iterations=1"});
  EXPECT_EQ(fits.exit_code, 0) << fits.err;
  EXPECT_TRUE(contains(fits.err, "memory estimate: about ")) << fits.err;
}

// train.aux_weight: the same loss on the auxiliary logits, weighted, logged as loss_aux and
// added to the total. With the main logits as the "auxiliary" ones the term is exactly
// the weight times the segmentation loss, record by record; the toolbox's PSPNet with its
// auxiliary head trains with it; a network without the feature, or a feature of another
// width, is refused at set-up naming the key.
TEST_F(Training, AuxiliaryLossIsTheWeightedLossOfTheAuxiliaryLogits) {
  const std::string same = config("aux_same", "aux_weight = 0.5\naux_logits = \"logits\"\n");
  const auto r = run_segdistill({"--threads", "1", "train", same, "--work-dir", work("aux_same")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto records = segdistill_test::metrics_records(work("aux_same"), "train");
  ASSERT_EQ(records.size(), 6u);
  for (const auto& record : records) {
    const double ce = record["loss_ce"], aux = record["loss_aux"], total = record["loss"];
    EXPECT_TRUE(segdistill_test::within("loss_aux vs 0.5 loss_ce (relative)", std::abs(aux - 0.5 * ce) / ce, 1e-6)) << record;
    EXPECT_TRUE(segdistill_test::within("loss vs loss_ce + loss_aux (relative)", std::abs(total - ce - aux) / total, 1e-6))
        << record;
  }

  const std::string toolbox_model =
      "backbone_key = \"pretrained\"\nbackbone = {type = \"resnet18_v1s\"}\nhead = {type = \"cirkd_psp\", channels = 16, "
      "aux = true}\n";
  const auto toolbox_config = [&](const std::string& name, const std::string& train) {
    return dir_->write(name + ".toml", segdistill_test::toy_run_config((dir_->path() / "toy").string(),
                                                                       segdistill_test::toy_train_pipeline(), toolbox_model,
                                                                       "iterations = 4\nbatch_size = 4\nworkers = 2\nseed = 3\n"
                                                                       "optimizer = {lr = 0.01}\nlog_every = 2\n" +
                                                                           train));
  };
  const auto psp =
      run_segdistill({"--threads", "1", "train", toolbox_config("aux_psp", "aux_weight = 0.4\n"), "--work-dir", work("aux_psp")});
  ASSERT_EQ(psp.exit_code, 0) << psp.err;
  for (const auto& record : segdistill_test::metrics_records(work("aux_psp"), "train")) {
    EXPECT_GT(record["loss_aux"].get<double>(), 0.0) << record;
    EXPECT_LT(record["loss_aux"].get<double>(), 0.4 * 10) << record;  // 0.4 x CE of a barely trained 6-class head
  }
  EXPECT_TRUE(fs::exists(fs::path(work("aux_psp")) / "checkpoints/iter_4.pt"));

  const auto missing = run_segdistill({"train", config("aux_missing", "aux_weight = 0.4\n"), "--work-dir", work("aux_missing")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "train.aux_logits: the network has no feature 'head.aux_logits'")) << missing.err;
  EXPECT_FALSE(fs::exists(work("aux_missing")));
  const auto width = run_segdistill({"train", toolbox_config("aux_width", "aux_weight = 0.4\naux_logits = \"head.feature\"\n"),
                                     "--work-dir", work("aux_width")});
  EXPECT_EQ(width.exit_code, 1);
  EXPECT_TRUE(contains(width.err, "train.aux_logits: 'head.feature' has 16 channels, not the 6 classes of the logits"))
      << width.err;
}

// train.optimizer.type = "adamw": PyTorch's AdamW. Its first step moves every weight by
// lr * g / (|g| + eps) after the decoupled decay w *= 1 - lr * wd, so |w1 - w0 (1 - lr wd)|
// is at most lr, and lr wherever the gradient is not tiny (an L2 decay added to the
// gradient would exceed lr by lr wd |w0|, SGD would move by lr |g|). Its moments and step
// counts are in the checkpoints, and a run resumed from iteration 4 ends with the same
// weights and state.
TEST_F(Training, AdamWStepsWithDecoupledDecayAndResumesExactly) {
  const double lr = 1e-3, wd = 0.5;
  const std::string train =
      "iterations = 8\nbatch_size = 4\nworkers = 2\nseed = 3\nhead_lr_mult = 1.0\nlog_every = 1\ncheckpoint_every = 1\n"
      "keep_last = 10\nlr_schedule = {type = \"poly\"}\noptimizer = {type = \"adamw\", lr = 0.001, weight_decay = 0.5}\n";
  const std::string cfg = dir_->write(
      "adamw.toml",
      segdistill_test::toy_run_config((dir_->path() / "toy").string(), segdistill_test::toy_train_pipeline(), kStudent, train));
  const std::string start = (dir_->path() / "adamw_start.pt").string();
  ASSERT_EQ(run_segdistill({"export-checkpoint", cfg, "--output", start}).exit_code, 0);
  const auto straight = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("adamw")});
  ASSERT_EQ(straight.exit_code, 0) << straight.err;
  EXPECT_TRUE(contains(straight.out + straight.err, "AdamW: parameters:")) << straight.err;

  const PyTorchStateDict w0 = read_pytorch_state_dict(start);
  const TensorDict w1 = model_of(work("adamw") + "/checkpoints/iter_1.pt");
  // The step's float32 roundings (the decay's product, the update's sum) add at most a few
  // ulps of the weight: 4 x 2^-23 |w0| on top of lr.
  double worst = 0;
  std::int64_t vectors = 0, full_vector_steps = 0;
  for (const auto& [name, before] : w0.tensors) {
    if (!before.is_floating_point() || name.find("running_") != std::string::npos) continue;
    const at::Tensor w = before.to(torch::kDouble);
    const at::Tensor step = (w1.at(name).to(torch::kDouble) - w * (1 - lr * wd)).abs();
    const at::Tensor slack = lr * 1e-6 + 4 * std::ldexp(1.0, -23) * w.abs();
    worst = std::max(worst, ((step - lr) / slack).max().item<double>());
    // BatchNorm weights and biases and the classifier bias always have a gradient: a
    // full step each. (Dilated 3x3 kernels on the toy's 2 x 2 maps see data only at
    // their centre, so most of their taps have none.)
    if (before.dim() == 1) {
      vectors += step.numel();
      full_vector_steps += (step >= 0.99 * lr).sum().item<std::int64_t>();
    }
  }
  EXPECT_TRUE(segdistill_test::within("largest (first AdamW step - lr) / its rounding slack", worst, 1.0));
  ASSERT_GT(vectors, 100);
  EXPECT_EQ(full_vector_steps, vectors);

  const TensorDict state = segdistill_test::checkpoint_group(work("adamw") + "/checkpoints/iter_8.pt", "optimizer");
  EXPECT_EQ(state.at("step.0.0").item<std::int64_t>(), 8);
  EXPECT_TRUE(state.count("exp_avg.0.0") && state.count("exp_avg_sq.0.0"));
  EXPECT_FALSE(state.count("momentum_buffer.0.0"));

  fs::copy(work("adamw"), work("adamw_resumed"), fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  for (int i = 5; i <= 8; ++i) fs::remove(fs::path(work("adamw_resumed")) / ("checkpoints/iter_" + std::to_string(i) + ".pt"));
  fs::remove(fs::path(work("adamw_resumed")) / "checkpoints/latest");
  fs::create_symlink("iter_4.pt", fs::path(work("adamw_resumed")) / "checkpoints/latest");
  const auto resumed = run_segdistill({"--threads", "1", "train", cfg, "--work-dir", work("adamw_resumed"), "--resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  for (const char* group : {"model", "optimizer"})
    expect_identical(segdistill_test::checkpoint_group(work("adamw") + "/checkpoints/iter_8.pt", group),
                     segdistill_test::checkpoint_group(work("adamw_resumed") + "/checkpoints/iter_8.pt", group));

  // An option of the other optimizer is an error naming it.
  const std::string mixed = dir_->write("adamw_mixed.toml", "_base_ = \"" + cfg + "\"\n[train.optimizer]\nmomentum = 0.9\n");
  const auto refused = run_segdistill({"config", "check", mixed});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(contains(refused.err, "train.optimizer.momentum: an option of type 'sgd', but train.optimizer.type is 'adamw'"))
      << refused.err;
}
