// A plugin built "for another SDK": its descriptor and version note are written by hand
// with the API version or LibTorch version given at compile time, as an older or newer
// SDK would. With TROJAN_MARKER_VARIABLE defined, a load-time constructor also writes
// the file that environment variable names: it must never run when the version differs.
#include <cstdio>
#include <cstdlib>

#include "segdistill/plugin/plugin_api.hpp"

SEGDISTILL_PLUGIN_VERSION_NOTE(FOREIGN_API_VERSION)

#ifdef TROJAN_MARKER_VARIABLE
__attribute__((constructor)) static void trojan_constructor() {
  if (const char* path = std::getenv(TROJAN_MARKER_VARIABLE))
    if (std::FILE* f = std::fopen(path, "w")) {
      std::fputs("constructor ran\n", f);
      std::fclose(f);
    }
}
#endif

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
