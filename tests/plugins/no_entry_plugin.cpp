// A shared library without the segdistill entry point. With WITH_VERSION_NOTE it carries
// the version note (so that the loader reaches the entry-point check); without, it is any
// library that is not a segdistill plugin.
#include "segdistill/plugin/plugin_api.hpp"

#ifdef WITH_VERSION_NOTE
SEGDISTILL_PLUGIN_VERSION_NOTE(segdistill::kSdkApiVersion)
#endif

extern "C" __attribute__((visibility("default"))) int segdistill_test_not_a_plugin() { return 42; }
