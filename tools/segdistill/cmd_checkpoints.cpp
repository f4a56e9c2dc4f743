// segdistill import-checkpoint | export-checkpoint: PyTorch state dicts in and out.
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "command.hpp"
#include "model_loading.hpp"
#include "plugin_setup.hpp"
#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/checkpoint/pytorch_checkpoint.hpp"
#include "segdistill/config/config.hpp"
#include "segdistill/core/check.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/engine/starting_weights.hpp"
#include "segdistill/modeling/segmentor.hpp"

namespace segdistill::cli {

namespace {

struct ModelArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::string section = "model";
};

void add_model_args(CLI::App& app, ModelArgs& args) {
  app.add_option("CONFIG", args.config, "TOML config whose network the weights belong to")->required()->check(CLI::ExistingFile);
  app.add_option("--set", args.overrides, "override a config key (repeatable)")->type_name("KEY=VALUE");
  app.add_option("--section", args.section, "the config table describing the network: model or teacher")
      ->check(CLI::IsMember({"model", "teacher"}))
      ->capture_default_str();
}

struct BuiltModel {
  Config config;
  std::shared_ptr<Segmentor> model;
};

BuiltModel build_model(const GlobalOptions& globals, const ModelArgs& args) {
  Config config = Config::load(args.config, args.overrides);
  load_plugins(globals, &config);
  auto model = build_network(config, args.section);
  return {std::move(config), std::move(model)};
}

struct ImportArgs : ModelArgs {
  std::string from, output;
  bool allow_partial = false;
};

int run_import(const GlobalOptions& globals, const ImportArgs& args) {
  auto [config, model] = build_model(globals, args);
  const PyTorchStateDict file = read_pytorch_state_dict(args.from);
  logger()->info("{}: {} format, state dict at the {} ({} tensors)", args.from, file.format, file.location, file.tensors.size());
  for (const auto& note : file.notes) logger()->info("{}: {}", args.from, note);
  const StateDictDiff diff = compare_state_dict(*model, file.tensors);
  if (!diff.empty() && !args.allow_partial)
    throw Error(args.from + " does not fit the [" + args.section + "] network of " + args.config + ": " +
                std::to_string(diff.count()) + " key(s) differ (--allow-partial loads what matches)\n" + diff.report());
  load_matching(*model, file.tensors);
  if (!diff.empty()) logger()->warn("{}: loaded what matches; left as initialised:\n{}", args.from, diff.report());

  Checkpoint checkpoint = model_checkpoint(*model, config.to_toml());
  checkpoint.text["imported_from"] = args.from;
  save_checkpoint(checkpoint, args.output);
  std::cout << "imported " << (file.tensors.size() - diff.unexpected.size() - diff.shape_mismatches.size()) << " of "
            << state_dict(*model).size() << " tensors from " << args.from << " into " << args.output << "\n";
  return 0;
}

struct ExportArgs : ModelArgs {
  std::string checkpoint, output;
};

// The tensors of one section: from a checkpoint (the model group loaded into the
// section's network, so that its shapes are checked; or the distillers group), or, with
// no checkpoint, the starting weights the config builds.
TensorDict exported_tensors(const GlobalOptions& globals, const ExportArgs& args, std::string& source) {
  Config config = Config::load(args.config, args.overrides);
  load_plugins(globals, &config);
  if (args.checkpoint.empty()) {
    auto groups = starting_weights(config);
    auto group = groups.find(args.section);
    require(group != groups.end(), "{}: no {} to export ({})", args.config, args.section,
            args.section == "teacher" ? "no [teacher] section" : "no [[distillers]]");
    source = "the starting weights of " + args.config + " (train.seed)";
    return group->second;
  }
  source = resolve_checkpoint(config, args.checkpoint);
  if (args.section != "distillers") return state_dict(*load_model(config, source, args.section));
  const Checkpoint checkpoint = load_checkpoint(source);
  auto group = checkpoint.groups.find("distillers");
  require(group != checkpoint.groups.end(), "{}: the checkpoint holds no distiller weights (a run without [[distillers]])",
          source);
  return group->second;
}

int run_export(const GlobalOptions& globals, const ExportArgs& args) {
  std::string source;
  const TensorDict tensors = exported_tensors(globals, args, source);
  write_pytorch_state_dict(tensors, args.output);
  std::cout << "exported " << tensors.size() << " " << args.section << " tensors of " << source << " to " << args.output
            << " (load with torch.load)\n";
  return 0;
}

}  // namespace

Runner attach_import_checkpoint(CLI::App& app) {
  auto args = std::make_shared<ImportArgs>();
  add_model_args(app, *args);
  app.add_option("--from", args->from, "PyTorch checkpoint written by torch.save (zip or legacy format)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--output", args->output, "segdistill checkpoint to write")->required();
  app.add_flag("--allow-partial", args->allow_partial, "load the tensors that match and list the rest");
  return [args](const GlobalOptions& globals) { return run_import(globals, *args); };
}

Runner attach_export_checkpoint(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  app.add_option("CONFIG", args->config, "TOML config whose networks the weights belong to")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--set", args->overrides, "override a config key (repeatable)")->type_name("KEY=VALUE");
  app.add_option("--section", args->section,
                 "what to write: model (the student), teacher, or distillers (their parameters and buffers, "
                 "keys '<index>.<name>' in [[distillers]] order)")
      ->check(CLI::IsMember({"model", "teacher", "distillers"}))
      ->capture_default_str();
  app.add_option("--checkpoint", args->checkpoint,
                 std::string(kCheckpointHelp) +
                     "; without it, the weights training starts from (initialisation, pretrained, init_from, teacher.checkpoint)")
      ->check(checkpoint_argument());
  app.add_option("--output", args->output, "PyTorch state dict file to write (torch.load reads it)")->required();
  return [args](const GlobalOptions& globals) { return run_export(globals, *args); };
}

}  // namespace segdistill::cli
