#pragma once
#include <algorithm>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace CLI {
class App;
}

namespace segdistill::cli {

// Options every sub-command accepts.
struct GlobalOptions {
  std::vector<std::string> plugin_dirs;
  std::string log_level = "info";
  int threads = 0;  // 0: all cores
  bool allow_nonfinite = false;
  bool allow_config_plugins = false;  // load the plugins a config's [plugins] section names
  // --threads as a count of worker threads: every core when it is 0.
  int worker_threads() const {
    return std::max(1, threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency()));
  }
};

using Runner = std::function<int(const GlobalOptions&)>;

// A sub-command: `attach` declares its options on its CLI11 app and returns what runs
// it once the command line is parsed.
struct Command {
  const char* name;
  const char* help;
  std::function<Runner(CLI::App&)> attach;
};

// The one table of sub-commands (commands.cpp).
const std::vector<Command>& commands();

// Each sub-command's attach function, one file each.
Runner attach_plugins(CLI::App& app);
Runner attach_config(CLI::App& app);
Runner attach_import_checkpoint(CLI::App& app);
Runner attach_export_checkpoint(CLI::App& app);
Runner attach_make_toy_dataset(CLI::App& app);
Runner attach_data(CLI::App& app);
Runner attach_eval(CLI::App& app);
Runner attach_predict(CLI::App& app);
Runner attach_plot(CLI::App& app);
Runner attach_analyze_model(CLI::App& app);
Runner attach_train(CLI::App& app);

}  // namespace segdistill::cli
