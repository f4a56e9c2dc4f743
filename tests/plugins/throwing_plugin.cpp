// Registers one entry, then fails: the loader must roll the entry back.
#include <stdexcept>

#include "segdistill/plugin/plugin_api.hpp"
#include "tiny_backbone.hpp"

namespace {
void register_throwing(segdistill::PluginRegistrar& registrar) {
  registrar.add_class<segdistill_test::TinyBackbone, segdistill_test::TinyBackboneOptions>(
      segdistill::backbones(), "half_registered_backbone", "left behind unless rolled back");
  throw std::runtime_error("cannot find the weights file this plugin needs");
}
}  // namespace

SEGDISTILL_PLUGIN("test_throwing", "1.0.0", register_throwing)
