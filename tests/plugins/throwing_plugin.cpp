// Registers one entry, then fails: the loader must roll the entry back.
#include <stdexcept>

#include "segdistill/plugin_api.hpp"
#include "tiny_backbone.hpp"

namespace {
void register_throwing(segdistill::PluginRegistrar& registrar) {
  registrar.add<segdistill_test::TinyBackboneOptions>(
      segdistill::backbones(), "half_registered_backbone", "left behind unless rolled back",
      [](const segdistill_test::TinyBackboneOptions& options) { return std::make_shared<segdistill_test::TinyBackbone>(options); });
  throw std::runtime_error("cannot find the weights file this plugin needs");
}
}  // namespace

SEGDISTILL_PLUGIN("test_throwing", "1.0.0", register_throwing)
