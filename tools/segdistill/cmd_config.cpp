// segdistill config show|check|schema
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "command.hpp"
#include "plugin_setup.hpp"
#include "schema_printer.hpp"
#include "segdistill/config/config.hpp"
#include "segdistill/config/sections.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/data/sections.hpp"

namespace segdistill::cli {

namespace {

struct ConfigArgs {
  std::string path;
  std::vector<std::string> overrides;
};

void add_config_args(CLI::App& app, ConfigArgs& args) {
  app.add_option("CONFIG", args.path, "TOML config file")->required()->check(CLI::ExistingFile);
  app.add_option("--set", args.overrides, "override a key: --set train.optimizer.lr=0.01 (repeatable; value parsed as TOML)")
      ->type_name("KEY=VALUE");
}

}  // namespace

Runner attach_config(CLI::App& app) {
  app.require_subcommand(1);
  auto show_args = std::make_shared<ConfigArgs>();
  auto check_args = std::make_shared<ConfigArgs>();
  auto schema_kind = std::make_shared<std::string>();
  auto schema_name = std::make_shared<std::string>();
  auto schema_markdown = std::make_shared<bool>(false);

  CLI::App* show = app.add_subcommand("show", "print the resolved config (bases merged, overrides applied) as TOML");
  add_config_args(*show, *show_args);
  CLI::App* check = app.add_subcommand("check", "validate every section, key and component name of a config");
  add_config_args(*check, *check_args);
  CLI::App* schema = app.add_subcommand("schema", "print the keys, types, defaults and help of sections or components");
  schema->add_option("KIND", *schema_kind, "a registry: backbones, heads, datasets, distillers, ...");
  schema->add_option("NAME", *schema_name, "one entry of that registry");
  schema->add_flag("--markdown", *schema_markdown,
                   "Markdown tables; without KIND every section and every registry (docs/config-reference.md)");

  return [=](const GlobalOptions& globals) {
    if (show->parsed()) {
      std::cout << Config::load(show_args->path, show_args->overrides).to_toml();
      return 0;
    }
    if (check->parsed()) {
      const Config config = Config::load(check_args->path, check_args->overrides);
      load_plugins(globals, &config);
      if (config.root().keys().empty())
        throw Error(check_args->path +
                    ": the config is empty: nothing to check (a config has sections such as [model], "
                    "[data], [train]; see segdistill config schema)");
      validate_config(config);
      // What the data can tell, where it is reachable from here.
      if (config.root().contains("model"))
        check_classes_fit(config, parse_options<ModelSection>(config.root().table("model")).num_classes, "model.num_classes");
      std::cout << check_args->path << ": OK\n";
      return 0;
    }
    load_plugins(globals);
    print_schema(*schema_kind, *schema_name, *schema_markdown ? SchemaFormat::Markdown : SchemaFormat::Text);
    return 0;
  };
}

}  // namespace segdistill::cli
