#pragma once
#include <string>
#include <vector>

#include "segdistill/core/api.hpp"

namespace segdistill {

// A plugin library that was loaded and registered its components.
struct LoadedPlugin {
  std::string name;
  std::string version;
  std::string path;
  std::string compiler;
  std::string torch_version;
};

// Loads plugin libraries with Boost.DLL. Libraries stay loaded for the life of the
// process: the registries hold factories whose code lives in them.
class SEGDISTILL_API PluginLoader {
 public:
  // The process-wide loader.
  static PluginLoader& instance();

  // Loads one plugin file. Errors (each naming the path): the file does not exist, is
  // not a loadable shared library, has no segdistill entry point, was built for another
  // SDK API version, LibTorch version or C++ ABI, or its registration throws (then
  // nothing it registered stays). Loading the same file twice is a no-op; a second file
  // with the name of a loaded plugin is skipped (the first on the search path wins).
  const LoadedPlugin* load(const std::string& path);

  // Loads every plugin file (segdistill_*.so) in `dir`, in name order.
  void load_directory(const std::string& dir);

  // Loads the plugins of every existing folder of `dirs`, in order.
  void load_search_path(const std::vector<std::string>& dirs);

  const std::vector<LoadedPlugin>& loaded() const;

 private:
  PluginLoader();
  struct State;
  State* state_;
};

// True when `filename` follows the plugin naming convention (segdistill_NAME.so).
SEGDISTILL_API bool is_plugin_filename(const std::string& filename);

// The plugin search path of docs/architecture.md, from highest priority: `cli_dirs`
// (--plugin-dir), SEGDISTILL_PLUGIN_PATH (colon-separated), `config_dirs` ([plugins]
// dirs), the build tree's plugin folder (when running from the build tree) and the
// installed plugin folder (relative to the running program).
SEGDISTILL_API std::vector<std::string> plugin_search_path(const std::vector<std::string>& cli_dirs,
                                                           const std::vector<std::string>& config_dirs);

}  // namespace segdistill
