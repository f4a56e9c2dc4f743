// Every shipped published config carries every published setting (README: "Reproducing
// the published runs", the settings table): read from `segdistill config show`, as a
// user sees the resolved config, and validated with `segdistill config check`.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "config_values.hpp"
#include "segdistill/config/config.hpp"
#include "test_support.hpp"

namespace {

using segdistill::Config;
using segdistill::ConfigTable;
using segdistill_test::run_segdistill;
using segdistill_test::same_value;

using Settings = std::vector<std::pair<std::string, std::string>>;  // dotted key, expected TOML value

// What every published script shares (published recipe, sections 1 and 4).
Settings common(const std::string& data, const std::string& backbone_file) {
  Settings s = {
      {"train.optimizer.momentum", "0.9"},
      {"train.optimizer.nesterov", "true"},
      {"train.optimizer.weight_decay", "5e-4"},
      {"train.head_lr_mult", "10.0"},
      {"train.ce_batch_average", "true"},
      {"train.eval_every_epochs", "1"},
      {"train.save_best", "true"},
      {"train.seed", "1"},
      {"eval.mode", "\"whole\""},
      {"eval.resize_to", "513"},
      {"eval.size_divisor", "1"},
      {"model.backbone.output_stride", "16"},
      {"model.backbone.pretrained", "\"checkpoints/imagenet/" + backbone_file + "\""},
      {"data.train.pipeline.0.type", "\"random_flip\""},
      {"data.train.pipeline.0.probability", "0.5"},
      {"data.train.pipeline.1.type", "\"random_scale_crop\""},
      {"data.train.pipeline.1.base_size", "513"},
      {"data.train.pipeline.1.crop_size", "[513]"},
      {"data.train.pipeline.1.scale_range", "[0.5, 2.0]"},
      {"data.train.pipeline.2.type", "\"gaussian_blur\""},
      {"data.train.pipeline.2.probability", "0.5"},
      {"data.train.pipeline.3.type", "\"normalize\""},
      {"data.ignore_index", "255"},
  };
  if (data == "voc") {
    s.push_back({"data.num_classes", "21"});
    s.push_back({"model.num_classes", "21"});
    s.push_back({"data.train.pipeline.1.label_fill", "0"});                      // VOC/SBD pad labels with background
    s.push_back({"data.train.sbd_root", "\"data/benchmark_RELEASE/dataset\""});  // trainaug
    s.push_back({"data.val.split", "\"val\""});
  } else {
    s.push_back({"data.num_classes", "182"});
    s.push_back({"model.num_classes", "182"});
    s.push_back({"data.train.pipeline.1.label_fill", "255"});
    s.push_back({"data.train.label_mapping", "\"deeplab182\""});
    s.push_back({"data.val.split", "\"test\""});
  }
  return s;
}

struct TatRun {
  std::string file, data, student, backbone_file;
  std::string batch, lr, alpha_beta, alpha_gamma, patches, heads, anchors;
};

Settings tat_settings(const TatRun& r) {
  Settings s = common(r.data, r.backbone_file);
  const Settings tat = {
      {"train.epochs", "100"},
      {"train.batch_size", r.batch},
      {"train.optimizer.lr", r.lr},
      {"train.lr_schedule.type", "\"cosine\""},
      {"train.distiller_lr_mult", "1.0"},
      {"model.backbone.type", "\"" + r.student + "\""},
      {"model.head.aspp_dropout", "0.0"},  // extract_feature applies no ASPP dropout
      {"teacher.backbone.type", "\"resnet101\""},
      {"teacher.backbone.output_stride", "16"},
      {"teacher.head.aspp_dropout", "0.0"},
      {"teacher.mode", "\"train\""},  // batch statistics, decoder dropout active
      {"distillers.0.type", "\"tat_patch_group\""},
      {"distillers.0.student_feature", "\"head.decoder\""},
      {"distillers.0.teacher_feature", "\"head.decoder\""},
      {"distillers.0.weight", r.alpha_beta},
      {"distillers.0.patches", r.patches},
      {"distillers.0.heads", r.heads},
      {"distillers.0.per_sample_embedding", "true"},
      {"distillers.1.type", "\"tat_anchor_point\""},
      {"distillers.1.student_feature", "\"head.decoder\""},
      {"distillers.1.teacher_feature", "\"head.decoder\""},
      {"distillers.1.weight", r.alpha_gamma},
      {"distillers.1.anchors", r.anchors},
      {"distillers.1.per_sample_embedding", "true"},
  };
  s.insert(s.end(), tat.begin(), tat.end());
  return s;
}

struct PlainRun {
  std::string file, data, backbone, backbone_file, epochs, batch, lr, schedule;
};

Settings plain_settings(const PlainRun& r) {
  Settings s = common(r.data, r.backbone_file);
  const Settings plain = {
      {"train.epochs", r.epochs},
      {"train.batch_size", r.batch},
      {"train.optimizer.lr", r.lr},
      {"train.lr_schedule.type", "\"" + r.schedule + "\""},
      {"model.backbone.type", "\"" + r.backbone + "\""},
      {"model.head.aspp_dropout", "(absent)"},  // train.py's forward: the default ASPP dropout 0.5
      {"teacher.mode", "(absent)"},
  };
  s.insert(s.end(), plain.begin(), plain.end());
  if (r.schedule == "poly") s.push_back({"train.lr_schedule.power", "0.9"});
  return s;
}

// train_comp.sh and train_reviewkd.sh: COCO-Stuff 10k, 100 epochs, lr 0.007 poly, alpha
// 0.1, the teacher as in the TaT runs.
struct DistillRun {
  std::string file, student, backbone_file, batch;
  Settings distiller;  // the distillers.0.* keys of the run
};

Settings distill_settings(const DistillRun& r) {
  Settings s = common("coco", r.backbone_file);
  const Settings run = {
      {"train.epochs", "100"},
      {"train.batch_size", r.batch},
      {"train.optimizer.lr", "0.007"},
      {"train.lr_schedule.type", "\"poly\""},
      {"train.lr_schedule.power", "0.9"},
      {"model.backbone.type", "\"" + r.student + "\""},
      {"model.head.aspp_dropout", "0.0"},
      {"teacher.backbone.type", "\"resnet101\""},
      {"teacher.head.aspp_dropout", "0.0"},
      {"teacher.mode", "\"train\""},
      {"distillers.0.weight", "0.1"},
      {"distillers.1.type", "(absent)"},
  };
  s.insert(s.end(), run.begin(), run.end());
  s.insert(s.end(), r.distiller.begin(), r.distiller.end());
  return s;
}

void expect_settings(const std::string& relative, const Settings& settings) {
  const std::string path = std::string(SEGDISTILL_SOURCE_DIR) + "/" + relative;
  const auto checked = run_segdistill({"config", "check", path});
  EXPECT_EQ(checked.exit_code, 0) << relative << ": " << checked.err;
  const auto shown = run_segdistill({"config", "show", path});
  ASSERT_EQ(shown.exit_code, 0) << relative << ": " << shown.err;
  const Config config = Config::parse(shown.out, relative + " (config show)");
  for (const auto& [key, expected] : settings)
    EXPECT_TRUE(same_value(segdistill_test::config_value(config, key), expected))
        << relative << ": " << key << " = " << segdistill_test::config_value(config, key) << ", published: " << expected;
}

const char* const kR18 = "resnet18-5c106cde.pth";
const char* const kR101 = "resnet101-5d3b4d8f.pth";
const char* const kMbv2 = "mobilenet_v2-6a65762b.pth";

TEST(PublishedConfigs, TatRunsCarryEveryPublishedSetting) {
  const std::vector<TatRun> runs = {
      {"configs/voc/tat_r101_r18.toml", "voc", "resnet18", kR18, "16", "0.007", "0.1", "0.04", "[16, 16]", "64", "[32, 32]"},
      {"configs/voc/tat_r101_mbv2.toml", "voc", "mobilenetv2", kMbv2, "12", "0.004", "0.1", "0.05", "[32, 32]", "1024",
       "[64, 64]"},
      {"configs/cocostuff10k/tat_r101_r18.toml", "coco", "resnet18", kR18, "16", "0.01", "0.6", "0.6", "[32, 32]", "512",
       "[32, 32]"},
      {"configs/cocostuff10k/tat_r101_mbv2.toml", "coco", "mobilenetv2", kMbv2, "12", "0.007", "0.4", "0.4", "[16, 16]", "64",
       "[32, 32]"},
  };
  for (const auto& run : runs) expect_settings(run.file, tat_settings(run));
}

TEST(PublishedConfigs, TeachersAndStudentBaselinesCarryEveryPublishedSetting) {
  const std::vector<PlainRun> runs = {
      // train_cocostuff10k_baseline.sh
      {"configs/cocostuff10k/deeplabv3plus_r101_teacher.toml", "coco", "resnet101", kR101, "200", "16", "0.004", "poly"},
      // train.py's pascal settings
      {"configs/voc/deeplabv3plus_r101_teacher.toml", "voc", "resnet101", kR101, "50", "16", "0.007", "poly"},
      // students alone, on the schedules of the runs they are compared with
      {"configs/voc/deeplabv3plus_r18.toml", "voc", "resnet18", kR18, "100", "16", "0.007", "cosine"},
      {"configs/voc/deeplabv3plus_mbv2.toml", "voc", "mobilenetv2", kMbv2, "100", "12", "0.004", "cosine"},
      {"configs/cocostuff10k/deeplabv3plus_r18.toml", "coco", "resnet18", kR18, "100", "16", "0.007", "poly"},
      {"configs/cocostuff10k/deeplabv3plus_mbv2.toml", "coco", "mobilenetv2", kMbv2, "100", "12", "0.007", "poly"},
  };
  for (const auto& run : runs) expect_settings(run.file, plain_settings(run));
}

TEST(PublishedConfigs, ComparisonAndReviewKdRunsCarryEveryPublishedSetting) {
  const auto decoder = [](const std::string& type) {
    return Settings{{"distillers.0.type", "\"" + type + "\""},
                    {"distillers.0.student_feature", "\"head.decoder\""},
                    {"distillers.0.teacher_feature", "\"head.decoder\""}};
  };
  Settings ch = decoder("ch");
  ch.push_back({"distillers.0.patches", "[8, 8]"});  // train_comp.sh: n = m = 8
  const std::string levels =
      "[\"backbone.layer1\", \"backbone.layer2\", \"backbone.layer3\", \"backbone.layer4\", \"head.aspp_pre_relu\", "
      "\"head.decoder\"]";
  const Settings reviewkd = {{"distillers.0.type", "\"reviewkd\""},
                             {"distillers.0.student_features", levels},
                             {"distillers.0.teacher_features", levels},
                             {"distillers.0.student_feature", "(absent)"},
                             {"distillers.0.published_frozen_abf", "(absent)"}};  // the default: the ABFs train
  Settings reviewkd_mbv2 = reviewkd;
  reviewkd_mbv2.push_back({"model.backbone.stage_features", "true"});
  const std::vector<DistillRun> runs = {
      {"configs/cocostuff10k/comp_at_r101_r18.toml", "resnet18", kR18, "16", decoder("at")},
      {"configs/cocostuff10k/comp_kd_width_r101_r18.toml", "resnet18", kR18, "16", decoder("kd_width")},
      {"configs/cocostuff10k/comp_fitnet_plain_r101_r18.toml", "resnet18", kR18, "16", decoder("fitnet_plain")},
      {"configs/cocostuff10k/comp_ch_r101_r18.toml", "resnet18", kR18, "16", ch},
      {"configs/cocostuff10k/reviewkd_r101_r18.toml", "resnet18", kR18, "16", reviewkd},
      {"configs/cocostuff10k/reviewkd_r101_mbv2.toml", "mobilenetv2", kMbv2, "12", reviewkd_mbv2},
  };
  for (const auto& run : runs) expect_settings(run.file, distill_settings(run));
}

}  // namespace
