// A well-formed plugin: registers one backbone.
#include "segdistill/plugin/plugin_api.hpp"
#include "tiny_backbone.hpp"

namespace {
void register_good(segdistill::PluginRegistrar& registrar) {
  registrar.add_class<segdistill_test::TinyBackbone, segdistill_test::TinyBackboneOptions>(
      segdistill::backbones(), "tiny_test_backbone", "one 3x3 convolution (tests only)");
}
}  // namespace

SEGDISTILL_PLUGIN("test_good", "1.2.3", register_good)
