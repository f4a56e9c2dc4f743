// A plugin built "for another SDK": its descriptor is written by hand with the API
// version or LibTorch version given at compile time, as an older or newer SDK would.
#include "segdistill/plugin/plugin_api.hpp"

namespace {
void register_nothing(segdistill::PluginRegistrar&) {}

const segdistill::PluginDescriptor* foreign_descriptor() {
  static const segdistill::PluginDescriptor descriptor{
      FOREIGN_API_VERSION,          "test_foreign",   "0.1.0", segdistill::build::kCompiler, FOREIGN_TORCH_VERSION,
      segdistill::build::kCxx11Abi, &register_nothing};
  return &descriptor;
}
}  // namespace

BOOST_DLL_ALIAS(foreign_descriptor, segdistill_plugin_entry)
