#pragma once
// Building models from the plugins of the build tree, for the model tests.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "segdistill/config/config.hpp"
#include "segdistill/modeling/segmentor.hpp"
#include "segdistill/plugin/loader.hpp"

namespace segdistill_test {

class WithPlugins : public ::testing::Test {
 protected:
  void SetUp() override { segdistill::PluginLoader::instance().load_directory(SEGDISTILL_BUILD_PLUGIN_DIR_FOR_TESTS); }
};

inline std::shared_ptr<segdistill::Segmentor> make_model(const std::string& backbone, std::int64_t output_stride, double width,
                                                         std::int64_t classes,
                                                         const std::string& head = "{type = \"deeplabv3plus\"}") {
  const std::string text = "[model]\nnum_classes = " + std::to_string(classes) + "\nbackbone = {type = \"" + backbone +
                           "\", output_stride = " + std::to_string(output_stride) + ", width = " + std::to_string(width) +
                           "}\nhead = " + head + "\n";
  const auto config = segdistill::Config::parse(text, "model.toml");
  return std::make_shared<segdistill::Segmentor>(config.root().table("model"));
}

}  // namespace segdistill_test
