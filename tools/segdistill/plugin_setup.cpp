#include "plugin_setup.hpp"

#include "segdistill/config/config.hpp"
#include "segdistill/config/sections.hpp"
#include "segdistill/core/closest_match.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/untrusted_file.hpp"
#include "segdistill/plugin/loader.hpp"

namespace segdistill::cli {

void load_plugins(const GlobalOptions& globals, const Config* config) {
  PluginsSection section{};
  if (config && config->root().contains("plugins")) section = parse_options<PluginsSection>(config->root().table("plugins"));
  // A plugin is native code with the user's rights; a config is a text file that may
  // come from anywhere. The user, not the config, decides to run code.
  if ((!section.dirs.empty() || !section.load.empty()) && !globals.allow_config_plugins) {
    std::vector<std::string> named = section.dirs;
    named.insert(named.end(), section.load.begin(), section.load.end());
    throw Error(config->path() + ": [plugins] names native code to load (" + printable(join(named, ", ")) +
                "); a config alone never loads plugins: pass --allow-config-plugins if you trust it, or name the folders "
                "with --plugin-dir or SEGDISTILL_PLUGIN_PATH");
  }
  auto& loader = PluginLoader::instance();
  loader.load_search_path(plugin_search_path(globals.plugin_dirs, section.dirs));
  for (const auto& file : section.load) loader.load(file);
}

}  // namespace segdistill::cli
