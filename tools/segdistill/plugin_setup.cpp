#include "plugin_setup.hpp"

#include "segdistill/config/config.hpp"
#include "segdistill/config/sections.hpp"
#include "segdistill/plugin/loader.hpp"

namespace segdistill::cli {

void load_plugins(const GlobalOptions& globals, const Config* config) {
  PluginsSection section{};
  if (config && config->root().contains("plugins")) section = parse_options<PluginsSection>(config->root().table("plugins"));
  auto& loader = PluginLoader::instance();
  loader.load_search_path(plugin_search_path(globals.plugin_dirs, section.dirs));
  for (const auto& file : section.load) loader.load(file);
}

}  // namespace segdistill::cli
