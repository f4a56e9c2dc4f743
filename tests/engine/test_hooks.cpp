// The engine's extension points as a config uses them: [[hooks]] built from the registry
// (the example EMA hook), hook state in checkpoints and exact resume, priorities,
// [train.loss] from the losses registry, each distiller term logged.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "run_test_support.hpp"
#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/checkpoint/pytorch_checkpoint.hpp"
#include "segdistill/config/config.hpp"
#include "segdistill/engine/hook.hpp"
#include "segdistill/engine/train_section.hpp"
#include "test_support.hpp"
#include "tolerance.hpp"
#include "toy_dataset.hpp"

using namespace segdistill;
using segdistill_test::contains;
using segdistill_test::error_of;
using segdistill_test::expect_identical;
using segdistill_test::run_segdistill;
using segdistill_test::TempDir;
namespace fs = std::filesystem;

namespace {

class Hooks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    toy::write_toy_dataset({(dir_->path() / "toy").string(), 3, 24, 6, 48, 48});
  }
  static void TearDownTestSuite() { delete dir_; }

  // The small student on the toy data, constant LR (a resumed run with more iterations
  // then continues exactly), validation at the end; `extra` is appended.
  std::string config(const std::string& name, const std::string& extra = "") const {
    return dir_->write(name + ".toml", segdistill_test::toy_run_config(
                                           (dir_->path() / "toy").string(), "[{type = \"random_flip\"}, {type = \"normalize\"}]",
                                           segdistill_test::kToyStudent,
                                           "iterations = 8\nbatch_size = 4\nworkers = 1\nseed = 5\noptimizer = {lr = 0.01}\n"
                                           "log_every = 1\ncheckpoint_every = 4\n" +
                                               extra));
  }
  static std::string work(const std::string& name) { return (dir_->path() / "runs" / name).string(); }
  static TempDir* dir_;
};
TempDir* Hooks::dir_ = nullptr;

const char* kEma = "[[hooks]]\ntype = \"ema\"\ndecay = 0.9\n";

std::vector<nlohmann::json> records(const std::string& work_dir, const std::string& type) {
  return segdistill_test::metrics_records(work_dir, type);
}

TensorDict group_of(const std::string& checkpoint, const std::string& group) {
  return segdistill_test::checkpoint_group(checkpoint, group);
}

}  // namespace

TEST_F(Hooks, EmaFromTheConfigIsValidatedSavedAndLeavesTheStudentAlone) {
  const std::string with = work("ema"), without = work("plain");
  const auto r = run_segdistill({"--threads", "1", "train", config("ema", kEma), "--work-dir", with});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(run_segdistill({"--threads", "1", "train", config("plain"), "--work-dir", without}).exit_code, 0);

  // The student trains bit for bit as without the hook.
  expect_identical(group_of(with + "/checkpoints/iter_8.pt", "model"), group_of(without + "/checkpoints/iter_8.pt", "model"));
  // The average is validated next to the student and saved as a checkpoint eval reads.
  const auto ema_records = records(with, "val_ema");
  ASSERT_EQ(ema_records.size(), 1u);
  EXPECT_EQ(ema_records[0]["iter"], 8);
  const std::string saved = with + "/ema/iter_8.pt";
  ASSERT_TRUE(fs::exists(saved));
  const TensorDict average = group_of(saved, "model");
  const TensorDict student = group_of(with + "/checkpoints/iter_8.pt", "model");
  ASSERT_EQ(average.size(), student.size());
  // Averaged weights differ from the student's; BatchNorm statistics are copied.
  EXPECT_FALSE(torch::equal(average.at("backbone.conv1.weight"), student.at("backbone.conv1.weight")));
  EXPECT_TRUE(torch::equal(average.at("backbone.bn1.running_mean"), student.at("backbone.bn1.running_mean")));
  // The hook's state rides in the run's checkpoints.
  const TensorDict hooks = group_of(with + "/checkpoints/iter_8.pt", "hooks");
  expect_identical(average, [&] {
    TensorDict stripped;
    for (const auto& [key, tensor] : hooks) stripped[key.substr(std::string("ema.").size())] = tensor;
    return stripped;
  }());
  const auto eval = run_segdistill({"--threads", "1", "eval", config("ema", kEma), "--checkpoint", saved});
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_TRUE(contains(eval.out, "mIoU")) << eval.out;
}

TEST_F(Hooks, EmaStateResumesExactly) {
  const std::string straight = work("ema_straight"), halves = work("ema_halves");
  ASSERT_EQ(run_segdistill({"--threads", "1", "train", config("ema_resume", kEma), "--work-dir", straight}).exit_code, 0);
  ASSERT_EQ(
      run_segdistill({"--threads", "1", "train", config("ema_resume", kEma), "--work-dir", halves, "--set", "train.iterations=4"})
          .exit_code,
      0);
  const auto resumed = run_segdistill(
      {"--threads", "1", "train", config("ema_resume", kEma), "--work-dir", halves, "--resume", "--resume-changed"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  expect_identical(group_of(straight + "/ema/iter_8.pt", "model"), group_of(halves + "/ema/iter_8.pt", "model"));
  expect_identical(group_of(straight + "/checkpoints/iter_8.pt", "model"), group_of(halves + "/checkpoints/iter_8.pt", "model"));
}

TEST_F(Hooks, UnknownHooksAndPrioritiesAreNamed) {
  const auto typo = run_segdistill({"config", "check", config("typo", "[[hooks]]\ntype = \"emma\"\n")});
  EXPECT_NE(typo.exit_code, 0);
  EXPECT_TRUE(contains(typo.err, "hooks.0.type: unknown hook 'emma' (did you mean 'ema'?); available hooks: ema")) << typo.err;
  const auto priority =
      run_segdistill({"config", "check", config("priority", "[[hooks]]\ntype = \"ema\"\npriority = \"lowe\"\n")});
  EXPECT_NE(priority.exit_code, 0);
  EXPECT_TRUE(contains(priority.err, "hooks.0.priority: unknown priority 'lowe' (did you mean 'low'?)")) << priority.err;
  const auto range = run_segdistill({"config", "check", config("range", "[[hooks]]\ntype = \"ema\"\npriority = 101\n")});
  EXPECT_NE(range.exit_code, 0);
  EXPECT_TRUE(contains(range.err, "priority 101 is out of range: must be between 0 and 100")) << range.err;
  const auto key = run_segdistill({"config", "check", config("key", "[[hooks]]\ntype = \"ema\"\ndecay = 1.5\n")});
  EXPECT_NE(key.exit_code, 0);
  EXPECT_TRUE(contains(key.err, "hooks.0.decay")) << key.err;
}

TEST(HookPriority, NamesAndNumbers) {
  EXPECT_EQ(priority_from_name("very_high"), priority::kVeryHigh);
  EXPECT_EQ(priority_from_name("low"), priority::kLow);
  EXPECT_FALSE(priority_from_name("urgent"));
  TempDir dir;
  const Config config = Config::load(dir.write("h.toml",
                                               "[[hooks]]\ntype = \"a\"\npriority = 75\n[[hooks]]\ntype = \"b\"\n"
                                               "priority = \"below_normal\"\n[[hooks]]\ntype = \"c\"\n"));
  const auto tables = config.root().tables("hooks");
  EXPECT_EQ(read_hook_priority(tables[0]), 75);
  EXPECT_EQ(read_hook_priority(tables[1]), priority::kBelowNormal);
  EXPECT_FALSE(read_hook_priority(tables[2]));
}

TEST_F(Hooks, FocalLossIsTheFunctionOfTheMeanCrossEntropy) {
  const std::string ce = work("loss_ce"), focal = work("loss_focal");
  ASSERT_EQ(run_segdistill({"--threads", "1", "train", config("ce"), "--work-dir", ce, "--set", "train.iterations=1"}).exit_code,
            0);
  const auto r =
      run_segdistill({"--threads", "1", "train", config("focal", "[train.loss]\ntype = \"focal\"\ngamma = 2.0\nalpha = 0.5\n"),
                      "--work-dir", focal, "--set", "train.iterations=1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The first iteration sees the same weights and batch: loss_focal = alpha (1 - e^-c)^gamma c.
  const double c = records(ce, "train").at(0)["loss_ce"].get<double>();
  const auto first = records(focal, "train").at(0);
  ASSERT_FALSE(first.contains("loss_ce"));
  const double expected = 0.5 * std::pow(1 - std::exp(-c), 2.0) * c;
  EXPECT_TRUE(segdistill_test::within("first['loss_focal'].get<double>() vs expected",
                                      std::abs((first["loss_focal"].get<double>()) - (expected)), 1e-6 * expected));
  EXPECT_DOUBLE_EQ(first["loss"].get<double>(), first["loss_focal"].get<double>());
}

TEST_F(Hooks, LossOptionsAreChecked) {
  const auto weights = run_segdistill({"--threads", "1", "train",
                                       config("weights", "[train.loss]\ntype = \"cross_entropy\"\nclass_weights = [1.0, 2.0]\n"),
                                       "--work-dir", work("weights")});
  EXPECT_NE(weights.exit_code, 0);
  EXPECT_TRUE(contains(weights.err, "train.loss.class_weights: 2 values for 6 classes")) << weights.err;
  const auto unknown = run_segdistill({"config", "check", config("unknown_loss", "[train.loss]\ntype = \"focall\"\n")});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_TRUE(contains(unknown.err, "unknown loss 'focall' (did you mean 'focal'?)")) << unknown.err;
}

TEST_F(Hooks, ClassWeightsWeightTheMean) {
  // Uniform weights leave the weighted mean the plain mean.
  const std::string plain = work("uniform_plain"), weighted = work("uniform_weighted");
  ASSERT_EQ(run_segdistill({"--threads", "1", "train", config("uw_plain"), "--work-dir", plain, "--set", "train.iterations=1"})
                .exit_code,
            0);
  ASSERT_EQ(
      run_segdistill({"--threads", "1", "train",
                      config("uw", "[train.loss]\ntype = \"cross_entropy\"\nclass_weights = [3.0, 3.0, 3.0, 3.0, 3.0, 3.0]\n"),
                      "--work-dir", weighted, "--set", "train.iterations=1"})
          .exit_code,
      0);
  EXPECT_TRUE(segdistill_test::within("records(plain, 'train').at(0)['loss_ce'].get<double>() vs records(weig",
                                      std::abs((records(plain, "train").at(0)["loss_ce"].get<double>()) -
                                               (records(weighted, "train").at(0)["loss_ce"].get<double>())),
                                      1e-5));
}

TEST_F(Hooks, EachDistillerTermIsLoggedUnderItsName) {
  // A one-term distiller (KD) is one value, its weighted sum; a distiller of several terms
  // (ReviewKD: one per level) logs its sum and each weighted term beside it.
  const std::string w = work("terms");
  const auto r = run_segdistill(
      {"--threads", "1", "train",
       config("terms",
              "[teacher]\nbackbone = {type = \"resnet18\", width = 0.125}\n"
              "head = {type = \"deeplabv3plus\", aspp_channels = 16, low_level_channels = 8, decoder_channels = 16}\n"
              "[[distillers]]\ntype = \"kd\"\nname = \"logits\"\nstudent_feature = \"logits\"\nteacher_feature = \"logits\"\n"
              "weight = 2.0\n"
              "[[distillers]]\ntype = \"reviewkd\"\nstudent_features = [\"backbone.layer3\", \"backbone.layer4\"]\n"
              "teacher_features = [\"backbone.layer3\", \"backbone.layer4\"]\nmid_channels = 8\nweight = 0.5\n"),
       "--work-dir", w, "--set", "train.iterations=2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& record : records(w, "train")) {
    double review_terms = 0;
    int review_count = 0;
    for (const auto& [key, value] : record.items()) {
      EXPECT_NE(key.rfind("loss_logits.", 0), 0u) << "a one-term distiller logs one value: " << record.dump();
      if (key.rfind("loss_reviewkd.", 0) == 0) review_terms += value.get<double>(), ++review_count;
    }
    ASSERT_TRUE(record.contains("loss_logits")) << record.dump();
    EXPECT_EQ(review_count, 2) << record.dump();
    EXPECT_TRUE(record.contains("loss_reviewkd.backbone.layer3") && record.contains("loss_reviewkd.backbone.layer4"))
        << record.dump();
    // The terms are weighted as the sum is: float sums of 2 values and a 1e-6 margin.
    EXPECT_TRUE(segdistill_test::within("reviewkd terms vs their weighted sum",
                                        std::abs(review_terms - record["loss_reviewkd"].get<double>()), 1e-6));
    EXPECT_TRUE(segdistill_test::within(
        "record['loss'].get<double>() vs record['loss_ce'].get<double>() + reco",
        std::abs((record["loss"].get<double>()) -
                 (record["loss_ce"].get<double>() + record["loss_logits"].get<double>() + record["loss_reviewkd"].get<double>())),
        1e-5));
  }
}

TEST_F(Hooks, TheCheckpointHoldsEveryHooksWorkWhateverItsPriority) {
  // The checkpoint is the loop's last stage of an iteration, after every hook: even at
  // "lowest", the EMA's 8th update is in the checkpoint of iteration 8, equal to the
  // average saved at the end.
  const std::string w = work("ema_lowest");
  ASSERT_EQ(run_segdistill(
                {"--threads", "1", "train", config("ema_lowest", std::string(kEma) + "priority = \"lowest\"\n"), "--work-dir", w})
                .exit_code,
            0);
  const TensorDict saved = group_of(w + "/ema/iter_8.pt", "model");
  const TensorDict in_checkpoint = group_of(w + "/checkpoints/iter_8.pt", "hooks");
  EXPECT_TRUE(torch::equal(saved.at("backbone.conv1.weight"), in_checkpoint.at("ema.backbone.conv1.weight")));
  // The validation stage validated the average next to the student, with its own tables.
  EXPECT_EQ(records(w, "val_ema").size(), 1u);
  EXPECT_TRUE(fs::exists(w + "/eval/ema/iter_8.txt"));
  EXPECT_TRUE(fs::exists(w + "/eval/iter_8.txt"));
}

TEST_F(Hooks, CeBatchAverageDividesTheSegmentationLossByTheBatchSize) {
  const std::string plain = work("ba_plain"), averaged = work("ba_averaged");
  ASSERT_EQ(run_segdistill({"--threads", "1", "train", config("ba_plain"), "--work-dir", plain, "--set", "train.iterations=1"})
                .exit_code,
            0);
  ASSERT_EQ(run_segdistill({"--threads", "1", "train", config("ba", "ce_batch_average = true\n"), "--work-dir", averaged, "--set",
                            "train.iterations=1"})
                .exit_code,
            0);
  // The same first batch and weights: the published CE is the plain one over batch_size (4).
  const double published = records(averaged, "train").at(0)["loss_ce"].get<double>();
  EXPECT_TRUE(segdistill_test::within("published vs records(plain, 'train').at(0)['loss_ce'].get<double>() / ",
                                      std::abs((published) - (records(plain, "train").at(0)["loss_ce"].get<double>() / 4)),
                                      1e-7));
}

TEST_F(Hooks, SaveBestKeepsTheBestValidationAndResumesWithIt) {
  // 24 training images in batches of 4: 6 iterations an epoch, validation every epoch.
  const std::string extra = "save_best = true\neval_every_epochs = 1\n";
  const std::string w = work("best");
  ASSERT_EQ(run_segdistill({"--threads", "1", "train", config("best", extra), "--work-dir", w, "--set", "train.iterations=12"})
                .exit_code,
            0);
  const auto validations = records(w, "val");
  ASSERT_EQ(validations.size(), 2u);  // iterations 6 and 12
  EXPECT_EQ(validations[0]["iter"], 6);
  EXPECT_EQ(validations[1]["iter"], 12);
  const auto& best =
      validations[0]["mIoU"].get<double>() >= validations[1]["mIoU"].get<double>() ? validations[0] : validations[1];
  std::ifstream in(w + "/checkpoints/best.json");
  const auto record = nlohmann::json::parse(in);
  EXPECT_EQ(record["iter"], best["iter"]);
  EXPECT_DOUBLE_EQ(record["mIoU"].get<double>(), best["mIoU"].get<double>());
  const Checkpoint saved = load_checkpoint(w + "/checkpoints/best.pt");
  EXPECT_EQ(saved.iteration, best["iter"].get<std::int64_t>());
  if (best["iter"] == 12) expect_identical(saved.groups.at("model"), group_of(w + "/checkpoints/iter_12.pt", "model"));
  // eval reads it like any checkpoint and finds the recorded mIoU.
  const auto eval = run_segdistill({"--threads", "1", "eval", config("best", extra), "--checkpoint", w + "/checkpoints/best.pt"});
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  // The best so far is run state: saved with every checkpoint.
  const TensorDict state = group_of(w + "/checkpoints/iter_12.pt", "hooks");
  EXPECT_DOUBLE_EQ(state.at("best_checkpoint.miou").item<double>(), best["mIoU"].get<double>());
  EXPECT_EQ(state.at("best_checkpoint.iteration").item<std::int64_t>(), best["iter"].get<std::int64_t>());

  // `--checkpoint best` and `latest` name those files of the config's train.work_dir.
  const std::vector<std::string> in_w{"--set", "train.work_dir=\"" + w + "\""};
  std::vector<std::string> by_name{"--threads", "1", "eval", config("best", extra), "--checkpoint", "best"};
  by_name.insert(by_name.end(), in_w.begin(), in_w.end());
  const auto named = run_segdistill(by_name);
  ASSERT_EQ(named.exit_code, 0) << named.err;
  EXPECT_EQ(named.out.substr(0, named.out.rfind(" images in")), eval.out.substr(0, eval.out.rfind(" images in")));
  const std::string exported = w + "/best_export.pth";
  std::vector<std::string> export_best{"export-checkpoint", config("best", extra), "--checkpoint", "best", "--output", exported};
  export_best.insert(export_best.end(), in_w.begin(), in_w.end());
  ASSERT_EQ(run_segdistill(export_best).exit_code, 0);
  expect_identical(read_pytorch_state_dict(exported).tensors, saved.groups.at("model"));
  std::vector<std::string> export_latest{"export-checkpoint", config("best", extra),   "--checkpoint", "latest",
                                         "--output",          w + "/latest_export.pth"};
  export_latest.insert(export_latest.end(), in_w.begin(), in_w.end());
  ASSERT_EQ(run_segdistill(export_latest).exit_code, 0);
  expect_identical(read_pytorch_state_dict(w + "/latest_export.pth").tensors, group_of(w + "/checkpoints/iter_12.pt", "model"));
  // A work dir without a best checkpoint: the message says which file and why.
  const auto none = run_segdistill(
      {"eval", config("plain_best"), "--checkpoint", "best", "--set", "train.work_dir=\"" + work("never_trained") + "\""});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_TRUE(contains(none.err, "--checkpoint best: " + work("never_trained") + "/checkpoints/best.pt does not exist"))
      << none.err;
  EXPECT_TRUE(contains(none.err, "train.save_best = true")) << none.err;
}

// The event files of a work dir in the order TensorBoard reads them (by name).
std::vector<fs::path> event_files(const std::string& work_dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(fs::path(work_dir) / "tensorboard")) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

// Read back by python3-protobuf from the same message definitions, framing and CRCs
// checked by the reader's own CRC-32C.
nlohmann::json read_events(const fs::path& file) {
  const std::string json = file.string() + ".json";
  const std::string command = "/usr/bin/python3 " + std::string(SEGDISTILL_SOURCE_DIR) +
                              "/tests/python/read_tensorboard_events.py " + std::string(SEGDISTILL_SOURCE_DIR) +
                              "/framework/src/engine/tensorboard/tensorboard_event.proto '" + file.string() + "' > '" + json +
                              "'";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(json);
  const nlohmann::json events = nlohmann::json::parse(in)["events"];
  fs::remove(json);
  return events;
}

TEST_F(Hooks, TensorBoardEventFilesHoldEveryLoggedValueAndAPredictionGrid) {
  const std::string w = work("tensorboard");
  const auto r = run_segdistill({"--threads", "1", "train", config("tensorboard"), "--work-dir", w});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<fs::path> files = event_files(w);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].filename().string().rfind("events.out.tfevents.", 0), 0u) << files[0];
  const auto events = read_events(files[0]);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0]["file_version"], "brain.Event:2");
  // The run's start, at its first step.
  EXPECT_TRUE(events[1].value("session_start", false)) << events[1].dump();
  EXPECT_EQ(events[1]["step"], 1);
  // Every train record of metrics.jsonl is there, value for value (as float32).
  std::map<std::int64_t, nlohmann::json> train_scalars, val_scalars;
  int images = 0;
  for (const auto& e : events) {
    if (e.contains("images")) {
      for (const auto& image : e["images"]) {
        EXPECT_EQ(image["png_width"], image["width"]);
        EXPECT_EQ(image["png_height"], image["height"]);
        EXPECT_EQ(image["colorspace"], 3);
        EXPECT_EQ(image["tag"], "val/predictions");
        // Four val images of the toy set (6), three 160-pixel-high tiles each.
        EXPECT_EQ(image["height"], 4 * 160);
        EXPECT_EQ(image["width"], 3 * 160);
        ++images;
      }
    }
    if (!e.contains("scalars")) continue;
    const auto& s = e["scalars"];
    if (s.contains("train/loss")) train_scalars[e["step"].get<std::int64_t>()] = s;
    if (s.contains("val/mIoU")) val_scalars[e["step"].get<std::int64_t>()] = s;
  }
  const auto train = records(w, "train");
  ASSERT_EQ(train.size(), 8u);
  ASSERT_EQ(train_scalars.size(), train.size());
  for (const auto& record : train) {
    const auto& s = train_scalars.at(record["iter"].get<std::int64_t>());
    for (const auto& [key, value] : record.items()) {
      if (key == "type" || key == "iter" || key == "epoch") continue;
      ASSERT_TRUE(s.contains("train/" + key)) << key;
      EXPECT_FLOAT_EQ(s["train/" + key].get<float>(), static_cast<float>(value.get<double>())) << key;
    }
  }
  const auto val = records(w, "val");
  ASSERT_EQ(val.size(), 1u);
  ASSERT_EQ(val_scalars.size(), 1u);
  const auto& v = val_scalars.at(8);
  for (const char* key : {"mIoU", "mAcc", "aAcc", "fwIoU"})
    EXPECT_FLOAT_EQ(v[std::string("val/") + key].get<float>(), static_cast<float>(100 * val[0][key].get<double>())) << key;
  // Per-class IoU, as in the run's eval report.
  std::ifstream report_file(fs::path(w) / "eval" / "iter_8.json");
  const auto report = nlohmann::json::parse(report_file);
  int classes = 0;
  for (const auto& c : report["classes"]) {
    if (c["IoU"].is_null()) continue;
    const std::string tag = "val_IoU/" + c["name"].get<std::string>();
    ASSERT_TRUE(v.contains(tag)) << tag << " in " << v.dump();
    EXPECT_FLOAT_EQ(v[tag].get<float>(), static_cast<float>(100 * c["IoU"].get<double>()));
    ++classes;
  }
  EXPECT_GT(classes, 0);
  EXPECT_EQ(images, 1);

  // Off: no folder.
  const std::string off = work("tensorboard_off");
  const auto quiet = run_segdistill(
      {"--threads", "1", "train", config("tensorboard_off"), "--work-dir", off, "--set", "train.tensorboard=false"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_FALSE(fs::exists(fs::path(off) / "tensorboard"));
}

TEST_F(Hooks, AResumedRunMarksItsRestartSoTensorBoardDropsTheRepeatedSteps) {
  // Killed after logging iterations 5-8 but before checkpoint 8 (its file removed): the
  // resumed run logs 5-8 again in a second file that starts with SessionLog START at
  // step 5. TensorBoard's rule, applied here to the files in its order: a START drops
  // every step >= its own read so far. After it, each tag has each step once.
  const std::string w = work("tensorboard_restart");
  ASSERT_EQ(run_segdistill({"--threads", "1", "train", config("tensorboard_restart"), "--work-dir", w}).exit_code, 0);
  fs::remove(fs::path(w) / "checkpoints" / "iter_8.pt");
  const auto resumed = run_segdistill({"--threads", "1", "train", config("tensorboard_restart"), "--work-dir", w, "--resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const std::vector<fs::path> files = event_files(w);
  ASSERT_EQ(files.size(), 2u);
  std::vector<std::pair<std::string, std::int64_t>> shown;  // (tag, step) as TensorBoard keeps them
  std::size_t written = 0;
  std::vector<std::int64_t> starts;
  for (const auto& file : files)
    for (const auto& e : read_events(file)) {
      const std::int64_t step = e["step"].get<std::int64_t>();
      if (e.value("session_start", false)) {
        starts.push_back(step);
        shown.erase(std::remove_if(shown.begin(), shown.end(), [&](const auto& kept) { return kept.second >= step; }),
                    shown.end());
      }
      if (e.contains("scalars"))
        for (const auto& [tag, value] : e["scalars"].items()) shown.emplace_back(tag, step), ++written;
    }
  EXPECT_EQ(starts, (std::vector<std::int64_t>{1, 5}));
  std::map<std::string, std::vector<std::int64_t>> steps;
  for (const auto& [tag, step] : shown) steps[tag].push_back(step);
  EXPECT_EQ(steps.at("train/loss"), (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(steps.at("val/mIoU"), (std::vector<std::int64_t>{8}));
  EXPECT_GT(written, shown.size()) << "the resumed run logged steps 5-8 again";
}
