// Registers a name the good plugin also registers.
#include "segdistill/plugin/plugin_api.hpp"
#include "tiny_backbone.hpp"

namespace {
void register_duplicate(segdistill::PluginRegistrar& registrar) {
  registrar.add_class<segdistill_test::TinyBackbone, segdistill_test::TinyBackboneOptions>(
      segdistill::backbones(), "tiny_test_backbone", "the same name again");
}
}  // namespace

SEGDISTILL_PLUGIN("test_duplicate", "1.0.0", register_duplicate)
