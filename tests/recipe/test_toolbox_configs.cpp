// Every shipped config of the CIRKD toolbox's recipes (configs/cirkd/) carries the
// toolbox's settings (README: "The CIRKD toolbox's networks, data sets and recipes", the
// settings table): read from `segdistill config show`, as a user sees the resolved
// config, and validated with `segdistill config check`.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "config_values.hpp"
#include "segdistill/config/config.hpp"
#include "test_support.hpp"

namespace {

using segdistill::Config;
using segdistill_test::run_segdistill;
using segdistill_test::same_value;
namespace fs = std::filesystem;

using Settings = std::vector<std::pair<std::string, std::string>>;  // dotted key (tables only), TOML value

// The toolbox's loop and evaluation (its facts, section 2), the same for every recipe.
const Settings kLoop = {
    {"train.optimizer.momentum", "0.9"},
    {"train.optimizer.nesterov", "false"},
    {"train.optimizer.weight_decay", "1e-04"},
    {"train.lr_schedule.type", "\"poly\""},
    {"train.lr_schedule.power", "0.9"},
    {"train.lr_schedule.warmup_iters", "(absent)"},
    {"train.head_lr_mult", "1.0"},
    {"train.log_every", "10"},
    {"train.checkpoint_every", "800"},
    {"train.eval_every", "800"},
    {"train.save_best", "true"},
    {"eval.mode", "\"whole\""},
    {"eval.size_divisor", "1"},
    {"eval.scales", "[1.0]"},
    {"eval.flip", "false"},
    {"eval.mean_over", "\"all\""},
    {"model.backbone_key", "\"pretrained\""},
    {"data.ignore_index", "255"},
    {"data.train.pipeline.0.type", "\"normalize\""},
    {"data.train.pipeline.0.mean", "[122.67891434, 116.66876762, 104.00698793]"},
    {"data.train.pipeline.0.std", "[1.0, 1.0, 1.0]"},
    {"data.train.pipeline.0.scale", "1.0"},
    {"data.train.pipeline.0.bgr", "true"},
    {"data.train.pipeline.1.type", "\"random_factor_scale_crop\""},
    {"data.train.pipeline.1.factors", "(absent)"},  // the schema's default: 0.5, 0.6, ..., 2.0
    {"data.train.pipeline.2.type", "\"random_flip\""},
    {"data.train.pipeline.2.probability", "0.5"},
    {"data.val.pipeline.0.bgr", "true"},
    {"data.val.pipeline.1.type", "(absent)"},
};

struct DataRecipe {
  std::string type, classes, crop, batch, lr, iterations;
};
const std::map<std::string, DataRecipe> kData = {
    {"cityscapes", {"cityscapes", "19", "[512, 1024]", "8", "0.01", "80000"}},
    {"ade20k", {"ade20k", "150", "[512, 512]", "16", "0.02", "80000"}},
    {"voc", {"voc", "21", "[512, 512]", "16", "0.02", "80000"}},
    {"cocostuff164k", {"cocostuff164k", "182", "[512, 512]", "16", "0.02", "80000"}},
    {"camvid", {"camvid", "11", "[360, 360]", "16", "0.02", "40000"}},
};

struct NetworkRecipe {
  std::string backbone, head, channels, aux, aux_weight;
  std::string width_key = "channels";  // the head option holding `channels`
  Settings overrides = {};             // where its recipe departs from the data set's
};

// The MobileViT scripts' AdamW (LR 0.0009, weight decay 0.01) on the data set's schedule.
const Settings kMobileViT = {{"train.optimizer.type", "\"adamw\""},
                             {"train.optimizer.lr", "0.0009"},
                             {"train.optimizer.weight_decay", "0.01"},
                             {"train.optimizer.momentum", "(absent)"},
                             {"train.optimizer.nesterov", "(absent)"}};
// The SegFormer scripts: AdamW 2e-4 (weight decay left at 1e-4), batch 8, 1024 x 1024
// crops, 160000 iterations, the two halves of each image evaluated apart; no prefix.
const Settings kSegFormer = {{"train.optimizer.type", "\"adamw\""},
                             {"train.optimizer.lr", "0.0002"},
                             {"train.optimizer.weight_decay", "1e-04"},
                             {"train.optimizer.momentum", "(absent)"},
                             {"train.optimizer.nesterov", "(absent)"},
                             {"train.batch_size", "8"},
                             {"train.iterations", "160000"},
                             {"data.train.pipeline.1.crop_size", "[1024, 1024]"},
                             {"eval.mode", "\"slide\""},
                             {"eval.crop", "[1024, 1024]"},
                             {"eval.stride", "[1024, 1024]"},
                             {"model.backbone_key", "\"\""}};
const std::map<std::string, NetworkRecipe> kNetworks = {
    {"deeplabv3_r101", {"resnet101_v1s", "cirkd_deeplabv3", "512", "true", "0.4"}},
    {"deeplabv3_r18", {"resnet18_v1s", "cirkd_deeplabv3", "512", "true", "0.4"}},
    {"psp_r18", {"resnet18_v1s", "cirkd_psp", "128", "true", "0.4"}},
    {"deeplabv3_mnv2", {"mobilenetv2_dilated", "cirkd_deeplabv3", "128", "(absent)", "(absent)"}},
    {"upernet_lite_r18", {"resnet18_v1s", "cirkd_upernet", "128", "true", "0.4", "fpn_channels"}},
    {"deeplabv3_mnv3_small", {"mobilenetv3_small", "cirkd_deeplabv3", "128", "(absent)", "(absent)"}},
    {"deeplabv3_mnv3_large", {"mobilenetv3_large", "cirkd_deeplabv3", "128", "(absent)", "(absent)"}},
    {"psp_mnv3_small", {"mobilenetv3_small", "cirkd_psp", "128", "(absent)", "(absent)"}},
    {"psp_mnv3_large", {"mobilenetv3_large", "cirkd_psp", "128", "(absent)", "(absent)"}},
    {"deeplabv3_mobilevit_xxs", {"mobilevit_xxs", "cirkd_deeplabv3", "128", "(absent)", "(absent)", "channels", kMobileViT}},
    {"psp_mobilevit_xxs", {"mobilevit_xxs", "cirkd_psp", "128", "(absent)", "(absent)", "channels", kMobileViT}},
    {"segformer_mit_b0", {"mit_b0", "cirkd_segformer", "256", "(absent)", "(absent)", "channels", kSegFormer}},
    {"segformer_mit_b4", {"mit_b4", "cirkd_segformer", "768", "(absent)", "(absent)", "channels", kSegFormer}},
};

// One [[distillers]] entry: type, weight, the features it reads, and further keys.
struct Term {
  std::string type, weight, feature;
  Settings keys = {};
};

// The toolbox's distillation scripts (its facts, section 1.14): the terms of train_kd.py's
// scripts (and their SegFormer variants) and of train_cirkdv2.py.
std::vector<Term> kd_terms(const std::string& method, const std::string& network) {
  const bool segformer = network.rfind("segformer", 0) == 0;
  const Term kd{"cirkd_kd", "1.0", "head.logits"};
  const Term adversarial{"cirkd_adversarial", "0.001", "head.logits", {{"discriminator_weight", "0.1"}}};
  if (method == "at") return {kd, {"cirkd_at", "10000.0", "head.feature"}};
  if (method == "fitnet") return {kd, {"cirkd_fitnet", "10.0", "head.feature"}};
  if (method == "skd") return {kd, adversarial, {"cirkd_skd", "10.0", "head.feature"}};
  if (method == "ifvd") return {kd, adversarial, {"cirkd_ifvd", "20.0", "head.feature"}};
  if (method == "cwd")
    return {kd,
            adversarial,
            {"cirkd_cwd", segformer ? "5.0" : "50.0", "head.feature", {{"temperature", "4.0"}}},
            {"cirkd_cwd", segformer ? "0.3" : "3.0", "head.logits", {{"temperature", "4.0"}}}};
  // DSD's first level: the aux logits where the network has them, else the logits again.
  const bool aux = network.size() > 4 && network.compare(network.size() - 4, 4, "_r18") == 0;
  const std::string levels =
      std::string("[\"") + (aux ? "head.aux_logits" : "head.logits") + "\", \"head.feature\", \"head.logits\"]";
  return {{"cirkd_psd", "1000.0", "", {{"student_features", levels}, {"teacher_features", levels}}},
          {"cirkd_csd", "10.0", "head.logits", {{"temperature", "4.0"}}}};
}

// lambda_fitnet of each CIRKDV2 script (data set/network).
const std::map<std::string, std::string> kCirkdv2Fitnet = {{"cityscapes/deeplabv3_r18", "1.0"},
                                                           {"cityscapes/upernet_lite_r18", "1.0"},
                                                           {"cityscapes/deeplabv3_mnv3_small", "1.0"},
                                                           {"cityscapes/psp_mnv3_small", "10.0"},
                                                           {"cityscapes/deeplabv3_mobilevit_xxs", "10.0"},
                                                           {"cityscapes/psp_mobilevit_xxs", "1.0"},
                                                           {"cityscapes/segformer_mit_b0", "1.0"},
                                                           {"ade20k/deeplabv3_r18", "1.0"},
                                                           {"ade20k/upernet_lite_r18", "10.0"},
                                                           {"ade20k/deeplabv3_mnv3_large", "10.0"},
                                                           {"ade20k/psp_mnv3_large", "1.0"},
                                                           {"cocostuff164k/deeplabv3_r18", "10.0"},
                                                           {"cocostuff164k/deeplabv3_mnv3_small", "1.0"},
                                                           {"cocostuff164k/deeplabv3_mnv3_large", "10.0"},
                                                           {"cocostuff164k/psp_mnv3_small", "10.0"},
                                                           {"voc/deeplabv3_mnv3_small", "10.0"},
                                                           {"voc/deeplabv3_mnv3_large", "10.0"},
                                                           {"voc/psp_mnv3_small", "10.0"},
                                                           {"voc/psp_mnv3_large", "10.0"}};

std::vector<Term> cirkdv2_terms(const std::string& data, const std::string& network) {
  const bool segformer = network.rfind("segformer", 0) == 0;
  const std::string gcn = segformer ? "false" : "true";
  const std::string bank = segformer ? "4096" : data == "cityscapes" ? "512" : "256";
  return {{"cirkd_kd", "1.0", "head.logits", {{"temperature", "1.0"}}},
          {"cirkd_minibatch_pixel", "1.0", "head.feature", {{"temperature", "0.1"}, {"gcn", gcn}}},
          {"cirkd_memory",
           "1.0",
           "head.feature",
           {{"pixel_weight", "0.1"},
            {"region_weight", "0.1"},
            {"pixel_memory_size", segformer ? "2000" : "20000"},
            {"region_memory_size", "2000"},
            {"gcn", gcn}}},
          {"cirkd_fitnet", kCirkdv2Fitnet.at(data + "/" + network), "head.feature", {{"gcn", gcn}}},
          {"cirkd_channel",
           "1.0",
           "head.feature",
           {{"bank_width", bank}, {"minibatch_weight", "1.0"}, {"memory_weight", "0.1"}, {"mse_weight", "100.0"}, {"gcn", gcn}}}};
}

const std::vector<std::string> kMethods = {"at", "fitnet", "skd", "ifvd", "cwd", "dsd"};

}  // namespace

TEST(ToolboxConfigs, EveryRecipeCarriesTheToolboxSettings) {
  const fs::path root = fs::path(SEGDISTILL_SOURCE_DIR) / "configs" / "cirkd";
  std::size_t recipes = 0;
  for (const auto& [data, d] : kData) {
    for (const auto& entry : fs::directory_iterator(root / data)) {
      // <network>.toml (trained alone), cirkdv2_<network>.toml, <method>_<network>.toml.
      std::string network = entry.path().stem().string(), method;
      if (network.rfind("cirkdv2_", 0) == 0) {
        method = "cirkdv2";
      } else {
        for (const auto& m : kMethods)
          if (network.rfind(m + "_", 0) == 0) method = m;
      }
      if (!method.empty()) network = network.substr(method.size() + 1);
      ASSERT_TRUE(kNetworks.count(network)) << entry.path();
      NetworkRecipe n = kNetworks.at(network);
      if (data == "camvid") n.channels = network == "psp_r18" ? "512" : "128";  // the v1 widths
      Settings expected = kLoop;
      const Settings specific = {
          {"data.num_classes", d.classes},
          {"model.num_classes", d.classes},
          {"data.train.type", "\"" + d.type + "\""},
          {"data.val.type", "\"" + d.type + "\""},
          {"data.train.pipeline.1.crop_size", d.crop},
          {"train.batch_size", d.batch},
          {"train.optimizer.lr", d.lr},
          {"train.iterations", d.iterations},
          {"model.backbone.type", "\"" + n.backbone + "\""},
          {"model.head.type", "\"" + n.head + "\""},
          {"model.head." + n.width_key, n.channels},
          {"model.head.aux", n.aux},
          {"train.aux_weight", n.aux_weight},
          {"train.work_dir", "\"work_dirs/cirkd/" + data + "/" + entry.path().stem().string() + "\""},
      };
      expected.insert(expected.end(), specific.begin(), specific.end());
      for (const auto& [key, want] : n.overrides) {
        bool replaced = false;
        for (auto& [k, v] : expected)
          if (k == key) v = want, replaced = true;
        if (!replaced) expected.emplace_back(key, want);
      }
      const bool segformer = network.rfind("segformer", 0) == 0;
      std::vector<Term> terms;
      if (method == "cirkdv2") terms = cirkdv2_terms(data, network);
      if (!method.empty() && method != "cirkdv2") {
        terms = kd_terms(method, network);
        if (!segformer)  // train_kd.py's defaults
          for (const auto& [key, want] :
               Settings{{"train.batch_size", "16"}, {"train.iterations", "40000"}, {"train.optimizer.lr", "0.02"}})
            for (auto& [k, v] : expected)
              if (k == key) v = want;
      }
      if (!method.empty()) {
        expected.emplace_back("teacher.mode", "\"eval\"");
        expected.emplace_back("teacher.backbone.type", segformer ? "\"mit_b4\"" : "\"resnet101_v1s\"");
        expected.emplace_back("teacher.backbone_key", segformer ? "\"\"" : "\"pretrained\"");
      }
      for (std::size_t i = 0; i < terms.size(); ++i) {
        const std::string at = "distillers." + std::to_string(i) + ".";
        expected.emplace_back(at + "type", "\"" + terms[i].type + "\"");
        expected.emplace_back(at + "weight", terms[i].weight);
        if (!terms[i].feature.empty()) {
          expected.emplace_back(at + "student_feature", "\"" + terms[i].feature + "\"");
          expected.emplace_back(at + "teacher_feature", "\"" + terms[i].feature + "\"");
        }
        for (const auto& [key, want] : terms[i].keys) expected.emplace_back(at + key, want);
      }
      expected.emplace_back("distillers." + std::to_string(terms.size()) + ".type", "(absent)");
      const std::string path = entry.path().string();
      const auto checked = run_segdistill({"config", "check", path});
      EXPECT_EQ(checked.exit_code, 0) << path << ": " << checked.err;
      const auto shown = run_segdistill({"config", "show", path});
      ASSERT_EQ(shown.exit_code, 0) << path << ": " << shown.err;
      const Config config = Config::parse(shown.out, path + " (config show)");
      for (const auto& [key, want] : expected)
        EXPECT_TRUE(same_value(segdistill_test::config_value(config, key), want))
            << path << ": " << key << " = " << segdistill_test::config_value(config, key) << " (the toolbox: " << want << ")";
      ++recipes;
    }
  }
  EXPECT_EQ(recipes, 62u);  // 27 trained alone, 19 CIRKDV2, 16 of train_kd.py's scripts
}

// The distillation configs build: each distiller finds its features in the toolbox's
// networks with the widths it needs (teacher weights: the teacher networks' starting
// weights; no ImageNet files). One of each kind: CIRKDV2 on a CNN (its memories and
// channel bank) and on SegFormer, DSD over the aux logits and without them, CWD with the
// adversarial term on the 1/8 logits.
TEST(ToolboxConfigs, DistillationConfigsBuildTheirDistillers) {
  segdistill_test::TempDir dir;
  const std::string cirkd = std::string(SEGDISTILL_SOURCE_DIR) + "/configs/cirkd/";
  const std::string no_imagenet = "model.backbone.pretrained=\"\"";
  const std::map<std::string, std::string> teachers = {{"r101", "cityscapes/deeplabv3_r101.toml"},
                                                       {"b4", "cityscapes/segformer_mit_b4.toml"}};
  for (const auto& [name, config] : teachers) {
    const auto exported = run_segdistill(
        {"export-checkpoint", cirkd + config, "--output", (dir.path() / (name + ".pt")).string(), "--set", no_imagenet});
    ASSERT_EQ(exported.exit_code, 0) << config << ": " << exported.err;
  }
  const std::vector<std::pair<std::string, std::string>> runs = {
      {"cityscapes/cirkdv2_psp_mnv3_small.toml", "r101"}, {"cityscapes/cirkdv2_segformer_mit_b0.toml", "b4"},
      {"cityscapes/dsd_deeplabv3_r18.toml", "r101"},      {"cityscapes/dsd_segformer_mit_b0.toml", "b4"},
      {"cityscapes/dsd_deeplabv3_mnv2.toml", "r101"},     {"cityscapes/cwd_deeplabv3_r18.toml", "r101"}};
  for (const auto& [config, teacher] : runs) {
    const auto built = run_segdistill({"export-checkpoint", cirkd + config, "--section", "distillers", "--output",
                                       (dir.path() / "distillers.pt").string(), "--set", no_imagenet, "--set",
                                       "teacher.checkpoint=\"" + (dir.path() / (teacher + ".pt")).string() + "\""});
    EXPECT_EQ(built.exit_code, 0) << config << ": " << built.err;
    EXPECT_NE(built.out.find("distillers tensors of the starting weights"), std::string::npos) << config << ": " << built.out;
  }
}
