#include "plugin_setup.hpp"

#include <filesystem>

#include "segdistill/config.hpp"
#include "segdistill/config_sections.hpp"
#include "segdistill/plugin_loader.hpp"

namespace fs = std::filesystem;

namespace segdistill::cli {

namespace {
// Paths in a config are relative to the file that was loaded.
std::string relative_to_config(const Config& config, const std::string& path) {
  if (fs::path(path).is_absolute() || config.path().empty()) return path;
  return (fs::path(config.path()).parent_path() / path).string();
}
}  // namespace

void load_plugins(const GlobalOptions& globals, const Config* config) {
  PluginsSection section{};
  if (config && config->root().contains("plugins")) section = parse_options<PluginsSection>(config->root().table("plugins"));
  for (auto& dir : section.dirs) dir = relative_to_config(*config, dir);
  auto& loader = PluginLoader::instance();
  loader.load_search_path(plugin_search_path(globals.plugin_dirs, section.dirs));
  for (const auto& file : section.load) loader.load(relative_to_config(*config, file));
}

}  // namespace segdistill::cli
