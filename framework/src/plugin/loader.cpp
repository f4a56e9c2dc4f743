#include "segdistill/plugin/loader.hpp"

#include <algorithm>
#include <filesystem>

#include <boost/dll/shared_library.hpp>

#include "plugin/version_note.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/plugin/plugin_api.hpp"

namespace fs = std::filesystem;

namespace segdistill {

struct PluginLoader::State {
  std::vector<LoadedPlugin> loaded;
  std::vector<std::string> canonical_paths;
  // Never unloaded: factories in the registries point into these libraries.
  std::vector<boost::dll::shared_library> libraries;
};

// Leaked on purpose: unloading plugins at exit would run before the registries'
// destructors, whose factories live in plugin code.
PluginLoader::PluginLoader() : state_(new State) {}

PluginLoader& PluginLoader::instance() {
  static PluginLoader* loader = new PluginLoader;
  return *loader;
}

const std::vector<LoadedPlugin>& PluginLoader::loaded() const { return state_->loaded; }

bool is_plugin_filename(const std::string& filename) {
  const std::string suffix = boost::dll::shared_library::suffix().string();
  const std::string prefix = "segdistill_";
  return filename.size() > prefix.size() + suffix.size() && filename.compare(0, prefix.size(), prefix) == 0 &&
         filename.compare(filename.size() - suffix.size(), suffix.size(), suffix) == 0;
}

namespace {

// What a plugin author must change, for a plugin of the API before this one.
std::string api_changes_since(std::uint32_t version) {
  if (version != kSdkApiVersion - 1) return "";
  return ". API 6 changed: Distiller::distill takes the batch's labels as a third argument (PairDistiller and "
         "LevelDistiller keep their forward(), so most distillers only rebuild); a LabelledPairDistiller gets "
         "forward(student, teacher, labels); DistillerContext gained ignore_index and seed; a distiller may step a model "
         "of its own in after_student_step() and keep its parameters out of the run's optimizer with "
         "self_stepped_parameters(). plugins/examples/README.md, 'From API 5 to API 6', shows each change";
}

std::string signature_text(const char* compiler, const char* torch_version, int abi) {
  return std::string("LibTorch ") + torch_version + ", _GLIBCXX_USE_CXX11_ABI=" + std::to_string(abi) + ", " + compiler;
}

void check_signature(const std::string& path, const PluginDescriptor& d) {
  const bool torch_ok = std::string(d.torch_version) == build::kTorchVersion;
  const bool abi_ok = d.cxx11_abi == build::kCxx11Abi;
  if (!torch_ok || !abi_ok)
    throw Error("plugin " + path + " was built for " + signature_text(d.compiler, d.torch_version, d.cxx11_abi) +
                " but this segdistill uses " + signature_text(build::kCompiler, build::kTorchVersion, build::kCxx11Abi) +
                "; rebuild the plugin against this installation");
  if (std::string(d.compiler) != build::kCompiler)
    logger()->debug("plugin {} was built with {}, segdistill with {}", path, d.compiler, build::kCompiler);
}

}  // namespace

const LoadedPlugin* PluginLoader::load(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error("plugin " + path + ": file not found");
  if (!fs::is_regular_file(path, ec)) throw Error("plugin " + path + ": not a regular file");
  const std::string canonical = fs::canonical(path, ec).string();
  for (std::size_t i = 0; i < state_->canonical_paths.size(); ++i)
    if (state_->canonical_paths[i] == canonical) return &state_->loaded[i];

  // The version is read from the file's note before loading: loading runs constructors.
  const std::uint32_t declared = plugin_api_version_from_file(canonical);
  if (declared != kSdkApiVersion)
    throw Error("plugin " + path + ": built for segdistill SDK API version " + std::to_string(declared) +
                ", but this segdistill supports API version " + std::to_string(kSdkApiVersion) + api_changes_since(declared) +
                "; rebuild the plugin against this SDK (refused before loading: none of its code ran)");

  boost::dll::shared_library library;
  try {
    // rtld_now: a plugin with unresolved symbols fails here, with the linker's message,
    // instead of crashing later when the symbol is first used.
    library.load(canonical, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw Error("plugin " + path + ": cannot be loaded as a shared library: " + e.what());
  }
  if (!library.has(kPluginEntrySymbol))
    throw Error("plugin " + path + ": no segdistill entry point (symbol '" + kPluginEntrySymbol +
                "'); a plugin must define one with SEGDISTILL_PLUGIN(name, version, register_function)");

  const auto entry = library.get_alias<const PluginDescriptor*()>(kPluginEntrySymbol);
  const PluginDescriptor* descriptor = entry();
  if (!descriptor) throw Error("plugin " + path + ": its entry point returned no descriptor");
  if (descriptor->api_version != kSdkApiVersion)
    throw Error("plugin " + path + ": built for segdistill SDK API version " + std::to_string(descriptor->api_version) +
                ", but this segdistill supports API version " + std::to_string(kSdkApiVersion) +
                api_changes_since(descriptor->api_version) + "; rebuild the plugin against this SDK");
  check_signature(path, *descriptor);

  const std::string name = descriptor->name ? descriptor->name : "";
  if (name.empty()) throw Error("plugin " + path + ": its descriptor has an empty name");
  for (const auto& plugin : state_->loaded) {
    if (plugin.name == name) {
      logger()->debug("plugin '{}' at {} skipped: already loaded from {}", name, path, plugin.path);
      return &plugin;
    }
  }

  const std::string origin = "plugin '" + name + "' (" + canonical + ")";
  PluginRegistrar registrar(origin);
  try {
    descriptor->register_components(registrar);
  } catch (const std::exception& e) {
    for (RegistryBase* registry : all_registries()) registry->remove_origin(origin);
    throw Error("plugin " + path + ": registration of plugin '" + name + "' failed: " + e.what());
  } catch (...) {
    for (RegistryBase* registry : all_registries()) registry->remove_origin(origin);
    throw Error("plugin " + path + ": registration of plugin '" + name + "' failed with an unknown exception");
  }

  state_->libraries.push_back(std::move(library));
  state_->canonical_paths.push_back(canonical);
  state_->loaded.push_back(LoadedPlugin{name, descriptor->version ? descriptor->version : "", canonical, descriptor->compiler,
                                        descriptor->torch_version});
  logger()->debug("loaded plugin '{}' {} from {}", name, state_->loaded.back().version, canonical);
  return &state_->loaded.back();
}

void PluginLoader::load_directory(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error("plugin directory " + dir + ": not found or not a directory");
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (is_plugin_filename(entry.path().filename().string())) files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) load(file);
}

void PluginLoader::load_search_path(const std::vector<std::string>& dirs) {
  for (const auto& dir : dirs) load_directory(dir);
}

}  // namespace segdistill
