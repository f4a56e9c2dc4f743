// segdistill plugins [--json]
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "plugin_setup.hpp"
#include "segdistill/plugin/loader.hpp"
#include "segdistill/plugin/registries.hpp"

namespace segdistill::cli {

namespace {

nlohmann::json plugins_json() {
  nlohmann::json out;
  out["plugins"] = nlohmann::json::array();
  for (const auto& p : PluginLoader::instance().loaded())
    out["plugins"].push_back({{"name", p.name},
                              {"version", p.version},
                              {"path", p.path},
                              {"compiler", p.compiler},
                              {"torch_version", p.torch_version}});
  out["registries"] = nlohmann::json::object();
  for (const RegistryBase* registry : all_registries()) {
    auto& entries = out["registries"][registry->kind()] = nlohmann::json::array();
    for (const auto& e : registry->entries()) entries.push_back({{"name", e.name}, {"help", e.help}, {"origin", e.origin}});
  }
  return out;
}

void print_text() {
  const auto& loaded = PluginLoader::instance().loaded();
  std::cout << "Plugin libraries (" << loaded.size() << "):\n";
  if (loaded.empty()) std::cout << "  (none found; see --plugin-dir and SEGDISTILL_PLUGIN_PATH)\n";
  for (const auto& p : loaded) std::cout << "  " << p.name << " " << p.version << "  " << p.path << "\n";
  for (const RegistryBase* registry : all_registries()) {
    const auto entries = registry->entries();
    std::cout << "\n" << registry->kind() << " (" << entries.size() << "):\n";
    std::size_t width = 0;
    for (const auto& e : entries) width = std::max(width, e.name.size());
    for (const auto& e : entries) {
      const std::string plugin = e.origin.substr(0, e.origin.find(" ("));
      std::cout << "  " << e.name << std::string(width - e.name.size() + 2, ' ') << e.help << "  [" << plugin << "]\n";
    }
  }
}

}  // namespace

Runner attach_plugins(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  app.add_flag("--json", *json, "print JSON instead of a table");
  return [json](const GlobalOptions& globals) {
    load_plugins(globals);
    if (*json)
      std::cout << plugins_json().dump(2) << "\n";
    else
      print_text();
    return 0;
  };
}

}  // namespace segdistill::cli
