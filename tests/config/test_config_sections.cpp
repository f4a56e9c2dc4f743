#include <gtest/gtest.h>

#include "segdistill/config/sections.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/plugin/loader.hpp"
#include "test_support.hpp"

using namespace segdistill;

namespace {
std::string validation_error(const std::string& text) {
  try {
    validate_config(Config::parse(text, "run.toml"));
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

class ConfigSections : public ::testing::Test {
 protected:
  void SetUp() override { PluginLoader::instance().load_directory(segdistill_test::test_plugin_dir("good")); }
};

TEST_F(ConfigSections, UnknownSectionSuggestsTheClosest) {
  EXPECT_EQ(validation_error("[modle]\nnum_classes = 3\n"),
            "run.toml:1: modle: unknown section 'modle' (did you mean 'model'?); valid sections: model, data, distillers, eval, "
            "hooks, plugins, teacher, train");
}

TEST_F(ConfigSections, ComponentsAreValidatedThroughTheirRegistry) {
  EXPECT_EQ(validation_error("[model]\nnum_classes = 3\nbackbone = {type = \"tiny_test_backbone\", channels = 16}\n"
                             "head = {type = \"fcn\"}\n"),
            "run.toml:4: model.head.type: unknown head 'fcn'; no heads are registered (is the plugin that provides them "
            "loaded? see `segdistill plugins`)");
  EXPECT_EQ(validation_error("[model]\nnum_classes = 3\nbackbone = {type = \"tiny_test_backbone\", stride = 3}\n"),
            "run.toml:3: model.backbone.stride: invalid value 3 (did you mean 2?); valid values: 2, 4, 8");
  EXPECT_EQ(validation_error("[model]\nnum_classes = 3\nbackbone = {type = \"resnet81\"}\n"),
            "run.toml:3: model.backbone.type: unknown backbone 'resnet81'; available backbones: tiny_test_backbone");
  EXPECT_EQ(
      validation_error("[model]\nbackbone = {type = \"tiny_test_backbone\"}\n"),
      "run.toml:1: missing required key 'model.num_classes' (integer: classes the network predicts (at most 65536: labels are "
      "8-bit PNG or 16-bit .mat values))");
}

TEST_F(ConfigSections, TeacherModeIsChecked) {
  EXPECT_EQ(validation_error("[teacher]\nmode = \"train\"\nbackbone = {type = \"tiny_test_backbone\"}\n"
                             "head = {type = \"x\"}\n"),
            "run.toml:4: teacher.head.type: unknown head 'x'; no heads are registered (is the plugin that provides them "
            "loaded? see `segdistill plugins`)");
  EXPECT_NE(validation_error("[teacher]\nmode = \"training\"\n").find("teacher.mode: invalid value \"training\""),
            std::string::npos);
}
