// The segdistill command as a user runs it: exit status, stdout and stderr.
#include <gtest/gtest.h>

#include <filesystem>

#include "segdistill/core/api.hpp"
#include "test_support.hpp"

using segdistill_test::contains;
using segdistill_test::run_segdistill;
using segdistill_test::TempDir;
using segdistill_test::test_plugin_dir;

TEST(Cli, HelpListsWorkingCommandsAndGlobalOptions) {
  const auto r = run_segdistill({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* part : {"plugins", "config", "--plugin-dir", "--log-level", "--threads"})
    EXPECT_TRUE(contains(r.out, part)) << part << "\n" << r.out;
  for (const char* sub : {"plugins", "config", "config show", "config check", "config schema"}) {
    std::vector<std::string> args;
    std::string word;
    for (char c : std::string(sub) + " ") {
      if (c == ' ')
        args.push_back(word), word.clear();
      else
        word += c;
    }
    args.push_back("--help");
    const auto h = run_segdistill(args);
    EXPECT_EQ(h.exit_code, 0) << sub;
    EXPECT_TRUE(contains(h.out, "Usage:")) << sub << "\n" << h.out;
  }
}

TEST(Cli, UsageErrorsExitNonZero) {
  EXPECT_NE(run_segdistill({}).exit_code, 0);
  const auto unknown = run_segdistill({"trian"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_TRUE(contains(unknown.err, "trian")) << unknown.err;
  EXPECT_NE(run_segdistill({"--threads", "0", "plugins"}).exit_code, 0);
  const auto level = run_segdistill({"--log-level", "loud", "plugins"});
  EXPECT_EQ(level.exit_code, 1);
  EXPECT_TRUE(contains(level.err, "--log-level: invalid level 'loud'; valid levels: trace, debug, info, warn, error, off"))
      << level.err;
}

TEST(Cli, PluginsListsLibrariesAndRegistries) {
  const auto r = run_segdistill({"plugins", "--plugin-dir", test_plugin_dir("good")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "test_good 1.2.3")) << r.out;
  EXPECT_TRUE(contains(r.out, "backbones (16):")) << r.out;  // the build tree's fifteen and the test plugin's
  EXPECT_TRUE(contains(r.out, "  tiny_test_backbone   one 3x3 convolution (tests only)  [plugin 'test_good']")) << r.out;
  // Every backbone and distiller the published code base has.
  for (const char* name : {"resnet18", "resnet101", "mobilenetv2", "xception", "drn_d_54", "tat_patch_group", "tat_anchor_point",
                           "reviewkd", "kd_width", "at", "fitnet_plain", "ch"})
    EXPECT_TRUE(contains(r.out, std::string("\n  ") + name + " ")) << name << "\n" << r.out;
  for (const char* kind : {"heads", "datasets", "transforms", "distillers", "losses", "lr_schedules", "hooks"})
    EXPECT_TRUE(contains(r.out, std::string("\n") + kind + " (")) << kind;

  const auto json = run_segdistill({"--plugin-dir", test_plugin_dir("good"), "plugins", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_TRUE(contains(json.out, "\"name\": \"test_good\"")) << json.out;
  EXPECT_TRUE(contains(json.out, "\"name\": \"tiny_test_backbone\"")) << json.out;
}

TEST(Cli, PluginsFromTheEnvironment) {
  const auto r = run_segdistill({"plugins"}, "SEGDISTILL_PLUGIN_PATH=" + test_plugin_dir("good"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "tiny_test_backbone"));
}

TEST(Cli, WrongApiPluginIsRefusedWithoutCrashing) {
  const auto r = run_segdistill({"plugins", "--plugin-dir", test_plugin_dir("wrong_api")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err,
                       "segdistill_test_wrong_api.so: built for segdistill SDK API version 999, but this "
                       "segdistill supports API version " +
                           std::to_string(segdistill::kSdkApiVersion)))
      << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(Cli, UnknownBackboneNamesKeyNameAndChoices) {
  TempDir dir;
  const std::string config =
      dir.write("bad.toml", "[model]\nnum_classes = 21\nbackbone = {type = \"resnet81\"}\nhead = {type = \"x\"}\n");
  const auto r = run_segdistill({"config", "check", config, "--plugin-dir", test_plugin_dir("good")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(
      r.err, config + ":3: model.backbone.type: unknown backbone 'resnet81' (did you mean 'resnet18'?); "
                      "available backbones: resnet18, drn_d_54, mit_b0, mit_b4, mobilenetv2, mobilenetv2_dilated, "
                      "mobilenetv3_large, mobilenetv3_small, mobilevit_xxs, resnet101, resnet101_v1s, resnet18_v1s, resnet50, "
                      "resnet50_v1s, tiny_test_backbone, xception"))
      << r.err;
}

TEST(Cli, ConfigShowPrintsTheResolvedConfig) {
  TempDir dir;
  dir.write("base.toml", "[model]\nnum_classes = 21\nbackbone = {type = \"tiny_test_backbone\", channels = 4}\n");
  const std::string child = dir.write("child.toml", "_base_ = \"base.toml\"\n[model]\nnum_classes = 3\n");
  const auto r = run_segdistill({"config", "show", child, "--set", "model.backbone.channels=16"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "num_classes = 3")) << r.out;
  EXPECT_TRUE(contains(r.out, "channels = 16")) << r.out;
  EXPECT_FALSE(contains(r.out, "_base_")) << r.out;

  const std::string resolved = dir.write("resolved.toml", r.out);
  const auto again = run_segdistill({"config", "show", resolved});
  EXPECT_EQ(again.out, r.out);
}

TEST(Cli, ConfigErrorsExitNonZeroWithTheLocation) {
  TempDir dir;
  const std::string bad = dir.write("bad.toml", "[model]\nnum_classes = \"many\"\n");
  const auto r = run_segdistill({"config", "check", bad});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, bad + ":2: model.num_classes: expected integer, got string \"many\"")) << r.err;
  const auto set = run_segdistill({"config", "show", bad, "--set", "model"});
  EXPECT_EQ(set.exit_code, 1);
  EXPECT_TRUE(contains(set.err, "--set model: expected KEY=VALUE")) << set.err;
  EXPECT_NE(run_segdistill({"config", "show", dir.path().string() + "/absent.toml"}).exit_code, 0);
}

TEST(Cli, ConfigCheckAcceptsAValidConfig) {
  TempDir dir;
  const std::string good = dir.write("good.toml",
                                     "[model]\nnum_classes = 3\nbackbone = {type = \"tiny_test_backbone\"}\n"
                                     "head = {type = \"none\"}\n");
  // No heads are registered yet, so even a valid backbone config fails on the head:
  const auto r = run_segdistill({"config", "check", good, "--plugin-dir", test_plugin_dir("good")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "model.head.type: unknown head 'none'")) << r.err;
  const std::string plugins_only = dir.write("p.toml", "[plugins]\ndirs = [\"" + test_plugin_dir("good") + "\"]\n");
  // A config alone never loads native code: the user opts in.
  const auto refused = run_segdistill({"config", "check", plugins_only});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(contains(refused.err, plugins_only + ": [plugins] names native code to load (" + test_plugin_dir("good") +
                                        "); a config alone never loads plugins: pass --allow-config-plugins"))
      << refused.err;
  const auto ok = run_segdistill({"config", "check", plugins_only, "--allow-config-plugins"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_TRUE(contains(ok.out, ": OK")) << ok.out;
}

TEST(Cli, SchemaDocumentsSectionsAndComponents) {
  const auto sections = run_segdistill({"config", "schema"});
  ASSERT_EQ(sections.exit_code, 0) << sections.err;
  EXPECT_TRUE(contains(sections.out, "num_classes (integer, required)")) << sections.out;
  EXPECT_TRUE(contains(sections.out, "mode (string, default \"eval\") one of: \"eval\" \"train\"")) << sections.out;
  const auto component =
      run_segdistill({"config", "schema", "backbones", "tiny_test_backbone", "--plugin-dir", test_plugin_dir("good")});
  ASSERT_EQ(component.exit_code, 0) << component.err;
  EXPECT_TRUE(contains(component.out, "stride (integer, default 4) one of: 2 4 8")) << component.out;
  const auto unknown = run_segdistill({"config", "schema", "backbone"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_TRUE(contains(unknown.err, "unknown kind 'backbone' (did you mean 'backbones'?); valid kinds: backbones"))
      << unknown.err;
}

TEST(Cli, EveryShippedConfigIsValid) {
  // The published and toy configs, with the build tree's plugins: every key, type and
  // component name is checked.
  int checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(std::string(SEGDISTILL_SOURCE_DIR) + "/configs")) {
    const auto path = entry.path();
    if (path.extension() != ".toml" || path.parent_path().filename() == "_base_" || path.filename().string()[0] == '_') continue;
    const auto r = run_segdistill({"config", "check", path.string()});
    EXPECT_EQ(r.exit_code, 0) << path << "\n" << r.err;
    ++checked;
  }
  EXPECT_GE(checked, 13);
}
