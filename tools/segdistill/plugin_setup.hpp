#pragma once
#include "command.hpp"

namespace segdistill {
class Config;
}

namespace segdistill::cli {

// Loads the plugins of the search path (--plugin-dir, SEGDISTILL_PLUGIN_PATH, the
// config's [plugins] dirs, the build tree or installation) and the config's
// [plugins] load files.
void load_plugins(const GlobalOptions& globals, const Config* config = nullptr);

}  // namespace segdistill::cli
