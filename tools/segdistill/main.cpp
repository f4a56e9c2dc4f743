// segdistill: the command line. Sub-commands come from the table in commands.cpp.
#include <c10/util/Exception.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <opencv2/core.hpp>

#include "command.hpp"
#include "launcher.hpp"
#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/core/closest_match.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/core/threads.hpp"
#include "segdistill/core/untrusted_file.hpp"
#include "segdistill/runtime/collectives.hpp"

namespace {

// "rank R: " in a data-parallel job, so that every rank's errors say whose they are.
std::string rank_prefix() {
  const char* rank = std::getenv("RANK");
  return std::getenv("WORLD_SIZE") && rank ? "rank " + std::string(rank) + ": " : "";
}

// Error messages go to stderr as one paragraph, without stack traces.
int fail(const std::string& message) {
  const std::string prefix = rank_prefix();
  // Messages quote config keys, ids and file names: control characters are escaped.
  std::cerr << "segdistill: error: " << (message.rfind(prefix, 0) == 0 ? "" : prefix) << segdistill::printable(message) << "\n";
  return 1;
}

void apply_globals(const segdistill::cli::GlobalOptions& globals) {
  segdistill::set_log_level(globals.log_level);
  const auto world = segdistill::world_from_environment();
  if (world) segdistill::set_log_rank(world->rank, world->world_size);
  // LibTorch would otherwise pick its own thread count (one, on some machines); the
  // processes of one machine share its cores.
  int threads = globals.threads;
  if (threads <= 0) {
    const char* local = std::getenv("LOCAL_WORLD_SIZE");
    const int processes = world ? std::max(1, local ? std::atoi(local) : 1) : 1;
    threads = std::max(1, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) / processes);
  }
  segdistill::configure_cpu_math(threads);
  segdistill::set_allow_nonfinite_tensors(globals.allow_nonfinite);
}

bool any_parsed(const std::vector<std::pair<CLI::App*, segdistill::cli::Runner>>& runners) {
  for (const auto& [sub, run] : runners)
    if (sub->parsed()) return true;
  return false;
}

// CLI11 says only "a subcommand is required" for a mistyped one; name it and the closest.
int unknown_command(const CLI::App& app) {
  std::vector<std::string> names;
  for (const auto& command : segdistill::cli::commands()) names.emplace_back(command.name);
  const auto remaining = app.remaining();
  if (remaining.empty()) {
    fail("no command given; commands: " + segdistill::join(names, ", ") + " (see segdistill --help)");
    return 2;
  }
  fail(segdistill::UnknownName("unknown command", remaining.front(), names)
           .listed_as("commands")
           .order(segdistill::ChoiceOrder::kAsGiven)
           .message());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace segdistill::cli;
  original_arguments().assign(argv, argv + argc);
  CLI::App app{"segdistill: train compact semantic-segmentation networks by knowledge distillation"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the sub-command too

  GlobalOptions globals;
  app.add_option("--plugin-dir", globals.plugin_dirs, "also load the plugins in this folder (repeatable; searched first)")
      ->type_name("DIR");
  app.add_option("--log-level", globals.log_level, "trace, debug, info, warn, error or off")->capture_default_str();
  app.add_option("--threads", globals.threads, "intra-op threads for LibTorch (default: all cores)")->check(CLI::Range(1, 1024));
  app.add_flag("--allow-nonfinite", globals.allow_nonfinite,
               "load checkpoints and state dicts whose tensors hold NaN or Inf (refused by default: a corrupt file or a "
               "diverged run)");
  app.add_flag("--allow-config-plugins", globals.allow_config_plugins,
               "load the plugin folders and files a config's [plugins] section names (native code: refused by default, so "
               "that a config from elsewhere never runs code)");

  std::vector<std::pair<CLI::App*, Runner>> runners;
  for (const Command& command : commands()) {
    CLI::App* sub = app.add_subcommand(command.name, command.help);
    runners.emplace_back(sub, command.attach(*sub));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (!any_parsed(runners)) return unknown_command(app);
    app.exit(e);
    return 2;
  }

  try {
    apply_globals(globals);
    for (auto& [sub, run] : runners)
      if (sub->parsed()) return run(globals);
    return fail("no sub-command given; see segdistill --help");
  } catch (const segdistill::Error& e) {
    return fail(e.what());
  } catch (const c10::Error& e) {
    return fail(e.what_without_backtrace());
  } catch (const cv::Exception& e) {
    return fail("OpenCV could not process an image (" + e.err + " in " + e.func +
                "); check the data and the sizes in the "
                "pipeline (segdistill data check CONFIG names bad samples)");
  } catch (const std::filesystem::filesystem_error& e) {
    // "cannot create directories: Permission denied [PATH]": the path and the cause.
    std::string what = e.what();
    if (what.rfind("filesystem error: ", 0) == 0) what = what.substr(18);
    return fail(what);
  } catch (const std::bad_alloc&) {
    return fail("out of memory; lower train.batch_size, the crop size or --threads, or check data.max_image_pixels");
  } catch (const std::exception& e) {
    return fail(std::string("unexpected: ") + e.what());
  }
}
