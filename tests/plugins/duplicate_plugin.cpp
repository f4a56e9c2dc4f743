// Registers a name the good plugin also registers.
#include "segdistill/plugin_api.hpp"
#include "tiny_backbone.hpp"

namespace {
void register_duplicate(segdistill::PluginRegistrar& registrar) {
  registrar.add<segdistill_test::TinyBackboneOptions>(
      segdistill::backbones(), "tiny_test_backbone", "the same name again",
      [](const segdistill_test::TinyBackboneOptions& options) { return std::make_shared<segdistill_test::TinyBackbone>(options); });
}
}  // namespace

SEGDISTILL_PLUGIN("test_duplicate", "1.0.0", register_duplicate)
