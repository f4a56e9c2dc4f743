// Every shipped config of the CIRKD toolbox's recipes (configs/cirkd/) carries the
// toolbox's settings (README: "The CIRKD toolbox's networks, data sets and recipes", the
// settings table): read from `segdistill config show`, as a user sees the resolved
// config, and validated with `segdistill config check`.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "segdistill/config/config.hpp"
#include "test_support.hpp"

namespace {

using segdistill::Config;
using segdistill_test::run_segdistill;
namespace fs = std::filesystem;

using Settings = std::vector<std::pair<std::string, std::string>>;  // dotted key (tables only), TOML value

// The TOML text of a dotted key of nested tables; pipeline steps as "data.train.pipeline[i].key".
std::string value(const Config& config, const std::string& dotted) {
  const auto bracket = dotted.find('[');
  if (bracket != std::string::npos) {
    const std::string split = dotted.substr(0, bracket);  // data.train.pipeline
    const auto index = std::stoul(dotted.substr(bracket + 1));
    const std::string key = dotted.substr(dotted.find("].") + 2);
    const auto dot = split.rfind('.');
    const auto steps = config.root().table("data").table(split.substr(5, dot - 5)).tables(split.substr(dot + 1));
    if (index >= steps.size() || !steps[index].contains(key)) return "(absent)";
    return steps[index].to_toml(key);
  }
  std::vector<std::string> parts;
  std::size_t begin = 0;
  for (std::size_t dot; (dot = dotted.find('.', begin)) != std::string::npos; begin = dot + 1)
    parts.push_back(dotted.substr(begin, dot - begin));
  parts.push_back(dotted.substr(begin));
  segdistill::ConfigTable table = config.root();
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!table.contains(parts[i])) return "(absent)";
    table = table.table(parts[i]);
  }
  return table.contains(parts.back()) ? table.to_toml(parts.back()) : "(absent)";
}

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
    {"data.train.pipeline[0].type", "\"normalize\""},
    {"data.train.pipeline[0].mean", "[122.67891434, 116.66876762, 104.00698793]"},
    {"data.train.pipeline[0].std", "[1.0, 1.0, 1.0]"},
    {"data.train.pipeline[0].scale", "1.0"},
    {"data.train.pipeline[0].bgr", "true"},
    {"data.train.pipeline[1].type", "\"random_factor_scale_crop\""},
    {"data.train.pipeline[1].factors", "(absent)"},  // the schema's default: 0.5, 0.6, ..., 2.0
    {"data.train.pipeline[2].type", "\"random_flip\""},
    {"data.train.pipeline[2].probability", "0.5"},
    {"data.val.pipeline[0].bgr", "true"},
    {"data.val.pipeline[1].type", "(absent)"},
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
};
const std::map<std::string, NetworkRecipe> kNetworks = {
    {"deeplabv3_r101", {"resnet101_v1s", "cirkd_deeplabv3", "512", "true", "0.4"}},
    {"deeplabv3_r18", {"resnet18_v1s", "cirkd_deeplabv3", "512", "true", "0.4"}},
    {"psp_r18", {"resnet18_v1s", "cirkd_psp", "128", "true", "0.4"}},
    {"upernet_lite_r18", {"resnet18_v1s", "cirkd_upernet", "128", "true", "0.4", "fpn_channels"}},
    {"deeplabv3_mnv3_small", {"mobilenetv3_small", "cirkd_deeplabv3", "128", "(absent)", "(absent)"}},
    {"deeplabv3_mnv3_large", {"mobilenetv3_large", "cirkd_deeplabv3", "128", "(absent)", "(absent)"}},
    {"psp_mnv3_small", {"mobilenetv3_small", "cirkd_psp", "128", "(absent)", "(absent)"}},
    {"psp_mnv3_large", {"mobilenetv3_large", "cirkd_psp", "128", "(absent)", "(absent)"}},
};

}  // namespace

TEST(ToolboxConfigs, EveryRecipeCarriesTheToolboxSettings) {
  const fs::path root = fs::path(SEGDISTILL_SOURCE_DIR) / "configs" / "cirkd";
  std::size_t recipes = 0;
  for (const auto& [data, d] : kData) {
    for (const auto& entry : fs::directory_iterator(root / data)) {
      const std::string network = entry.path().stem().string();
      ASSERT_TRUE(kNetworks.count(network)) << entry.path();
      NetworkRecipe n = kNetworks.at(network);
      if (data == "camvid") n.channels = network == "psp_r18" ? "512" : "128";  // the v1 widths
      Settings expected = kLoop;
      const Settings specific = {
          {"data.num_classes", d.classes},
          {"model.num_classes", d.classes},
          {"data.train.type", "\"" + d.type + "\""},
          {"data.val.type", "\"" + d.type + "\""},
          {"data.train.pipeline[1].crop_size", d.crop},
          {"train.batch_size", d.batch},
          {"train.optimizer.lr", d.lr},
          {"train.iterations", d.iterations},
          {"model.backbone.type", "\"" + n.backbone + "\""},
          {"model.head.type", "\"" + n.head + "\""},
          {"model.head." + n.width_key, n.channels},
          {"model.head.aux", n.aux},
          {"train.aux_weight", n.aux_weight},
          {"train.work_dir", "\"work_dirs/cirkd/" + data + "/" + network + "\""},
      };
      expected.insert(expected.end(), specific.begin(), specific.end());
      const std::string path = entry.path().string();
      const auto checked = run_segdistill({"config", "check", path});
      EXPECT_EQ(checked.exit_code, 0) << path << ": " << checked.err;
      const auto shown = run_segdistill({"config", "show", path});
      ASSERT_EQ(shown.exit_code, 0) << path << ": " << shown.err;
      const Config config = Config::parse(shown.out, path + " (config show)");
      for (const auto& [key, want] : expected)
        EXPECT_EQ(value(config, key), want) << path << ": " << key << " (the toolbox: " << want << ")";
      ++recipes;
    }
  }
  EXPECT_EQ(recipes, 22u);
}
