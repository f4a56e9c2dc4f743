// segdistill config show|check|schema
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "command.hpp"
#include "plugin_setup.hpp"
#include "segdistill/config.hpp"
#include "segdistill/closest_match.hpp"
#include "segdistill/config_sections.hpp"
#include "segdistill/error.hpp"
#include "segdistill/log.hpp"
#include "segdistill/registries.hpp"

namespace segdistill::cli {

namespace {

struct ConfigArgs {
  std::string path;
  std::vector<std::string> overrides;
};

void add_config_args(CLI::App& app, ConfigArgs& args) {
  app.add_option("CONFIG", args.path, "TOML config file")->required()->check(CLI::ExistingFile);
  app.add_option("--set", args.overrides, "override a key: --set train.lr=0.01 (repeatable; value parsed as TOML)")
      ->type_name("KEY=VALUE");
}

void print_fields(const SchemaSpec& schema, const std::string& indent) {
  if (schema.fields.empty()) std::cout << indent << "(no keys)\n";
  for (const auto& f : schema.fields) {
    std::cout << indent << f.key << " (" << value_type_name(f.type);
    if (f.required) std::cout << ", required";
    else if (!std::holds_alternative<std::monostate>(f.default_value)) std::cout << ", default " << value_to_text(f.default_value);
    else std::cout << ", optional";
    std::cout << ")";
    if (!f.allowed.empty()) {
      std::cout << " one of:";
      for (const auto& a : f.allowed) std::cout << " " << value_to_text(a);
    }
    if (f.min || f.max) std::cout << " range [" << (f.min ? std::to_string(*f.min) : "") << ", " << (f.max ? std::to_string(*f.max) : "") << "]";
    std::cout << "\n" << indent << "    " << f.help << "\n";
  }
}

int print_schema(const std::string& kind, const std::string& name) {
  if (kind.empty()) {
    std::cout << "Config sections:\n";
    for (const auto& section : config_sections()) {
      std::cout << "\n[" << (section.array_of_tables ? "[" : "") << section.key << (section.array_of_tables ? "]" : "")
                << "]  " << section.help << "\n";
      if (section.array_of_tables)
        std::cout << "  type (string, required): a name of the " << section.component_kind << " registry; its own keys: "
                  << "segdistill config schema " << section.component_kind << " NAME\n";
      print_fields(section.schema, "  ");
    }
    std::cout << "\nComponent kinds (segdistill config schema KIND [NAME]):";
    for (const RegistryBase* r : all_registries()) std::cout << " " << r->kind();
    std::cout << "\n";
    return 0;
  }
  const RegistryBase* registry = find_registry(kind);
  if (!registry) {
    std::vector<std::string> kinds;
    for (const RegistryBase* r : all_registries()) kinds.push_back(r->kind());
    throw Error("config schema: unknown kind '" + kind + "'; valid kinds: " + describe_choices(kind, kinds));
  }
  const auto entries = name.empty() ? registry->entries() : std::vector<RegistryEntryInfo>{registry->info(name)};
  if (entries.empty()) std::cout << "no " << kind << " are registered\n";
  for (const auto& e : entries) {
    std::cout << kind << "." << e.name << ": " << e.help << "\n  from " << e.origin << "\n  type = \"" << e.name << "\"\n";
    print_fields(e.schema, "  ");
    std::cout << "\n";
  }
  return 0;
}

}  // namespace

Runner attach_config(CLI::App& app) {
  app.require_subcommand(1);
  auto show_args = std::make_shared<ConfigArgs>();
  auto check_args = std::make_shared<ConfigArgs>();
  auto schema_kind = std::make_shared<std::string>();
  auto schema_name = std::make_shared<std::string>();

  CLI::App* show = app.add_subcommand("show", "print the resolved config (bases merged, overrides applied) as TOML");
  add_config_args(*show, *show_args);
  CLI::App* check = app.add_subcommand("check", "validate every section, key and component name of a config");
  add_config_args(*check, *check_args);
  CLI::App* schema = app.add_subcommand("schema", "print the keys, types, defaults and help of sections or components");
  schema->add_option("KIND", *schema_kind, "a registry: backbones, heads, datasets, distillers, ...");
  schema->add_option("NAME", *schema_name, "one entry of that registry");

  return [=](const GlobalOptions& globals) {
    if (show->parsed()) {
      std::cout << Config::load(show_args->path, show_args->overrides).to_toml();
      return 0;
    }
    if (check->parsed()) {
      const Config config = Config::load(check_args->path, check_args->overrides);
      load_plugins(globals, &config);
      validate_config(config);
      std::cout << check_args->path << ": OK\n";
      return 0;
    }
    load_plugins(globals);
    return print_schema(*schema_kind, *schema_name);
  };
}

}  // namespace segdistill::cli
