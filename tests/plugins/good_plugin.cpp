// A well-formed plugin: registers one backbone.
#include "segdistill/plugin_api.hpp"
#include "tiny_backbone.hpp"

namespace {
void register_good(segdistill::PluginRegistrar& registrar) {
  registrar.add<segdistill_test::TinyBackboneOptions>(
      segdistill::backbones(), "tiny_test_backbone", "one 3x3 convolution (tests only)",
      [](const segdistill_test::TinyBackboneOptions& options) { return std::make_shared<segdistill_test::TinyBackbone>(options); });
}
}  // namespace

SEGDISTILL_PLUGIN("test_good", "1.2.3", register_good)
