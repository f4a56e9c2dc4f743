// segdistill train CONFIG [--work-dir DIR] [--resume [--resume-changed] | --overwrite] [--set k=v]... [--device D]
#include <csignal>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "command.hpp"
#include "launcher.hpp"
#include "plugin_setup.hpp"
#include "segdistill/config/config.hpp"
#include "segdistill/config/sections.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/engine/train_section.hpp"
#include "segdistill/engine/trainer.hpp"

namespace segdistill::cli {

namespace {

struct TrainArgs {
  std::string config;
  std::vector<std::string> overrides;
  TrainOptions options;
  int nproc = 1;
};

// The first SIGINT/SIGTERM asks the trainer to save and stop after the current
// iteration; a second one ends the process at once.
void on_signal(int signal) {
  if (stop_signal().exchange(signal) != 0) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
  }
}

}  // namespace

Runner attach_train(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  app.add_option("CONFIG", args->config, "TOML config ([model], [data], [train]; [teacher] and [[distillers]] to distil)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--work-dir", args->options.work_dir, "output folder (default: train.work_dir)");
  auto* resume = app.add_flag("--resume", args->options.resume, "continue from the work dir's latest checkpoint");
  app.add_flag("--resume-changed", args->options.resume_changed,
               "with --resume: continue although the config changed in ways that break exactness (logged)")
      ->needs(resume);
  app.add_flag("--overwrite", args->options.overwrite,
               "start afresh in a work dir that holds a previous run, moving that run to WORK_DIR.replaced-N")
      ->excludes(resume);
  app.add_option("--device", args->options.device, "auto (CUDA when present), cpu, cuda or cuda:N")->capture_default_str();
  app.add_option("--set", args->overrides, "override a config key (repeatable)")->type_name("KEY=VALUE");
  app.add_option("--nproc", args->nproc,
                 "data-parallel worker processes on this machine (each gets the cores / N threads; under torchrun, "
                 "leave it out: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT come from the environment)")
      ->check(CLI::Range(1, 1024));
  return [args](const GlobalOptions& globals) {
    const Config config = Config::load(args->config, args->overrides);
    load_plugins(globals, &config);
    args->options.world = world_from_environment();
    if (args->nproc > 1 && args->options.world && !started_by_nproc())
      throw Error("--nproc " + std::to_string(args->nproc) +
                  ": the environment already describes a data-parallel job "
                  "(WORLD_SIZE=" +
                  std::to_string(args->options.world->world_size) +
                  ", as torchrun sets it); leave out --nproc under a launcher, or unset WORLD_SIZE to launch with --nproc");
    if (args->nproc > 1 && !args->options.world) {
      // One message for a bad config, not one per worker.
      validate_config(config);
      if (config.root().contains("train"))
        check_batch_split(parse_options<TrainSection>(config.root().table("train")).batch_size, args->nproc);
      return launch_local_workers(args->nproc);
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    try {
      const TrainSummary summary = train(config, args->options);
      if (args->options.world && args->options.world->rank != 0) return 0;
      std::cout << "trained " << summary.iterations << " iterations; last checkpoint " << summary.last_checkpoint;
      if (summary.final_miou >= 0) std::cout << "; val mIoU " << summary.final_miou * 100 << "%";
      if (summary.skipped_samples) std::cout << "; " << summary.skipped_samples << " bad samples skipped";
      std::cout << "\n";
      return 0;
    } catch (const StoppedBySignal& stopped) {
      logger()->warn("{}", stopped.what());
      return 128 + stopped.signal();
    }
  };
}

}  // namespace segdistill::cli
