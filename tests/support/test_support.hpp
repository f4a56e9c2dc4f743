#pragma once
// Helpers shared by the tests: temporary folders, files, running the command line.
#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace segdistill_test {

// A fresh folder under the system temporary folder, removed when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  // Writes `text` to path()/name (folders created) and returns the full path.
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `program` with `args` (each passed as one argument), `env` prefixed ("A=1 B=2").
CommandResult run_program(const std::string& program, const std::vector<std::string>& args, const std::string& env = "");

// A run with its cost: wall time and the peak resident memory of the process.
struct MeasuredResult : CommandResult {
  double seconds = 0;
  std::int64_t peak_rss_bytes = 0;
  bool timed_out = false;  // killed (SIGKILL) after the time limit
};

// Runs segdistill with `args` directly (no shell: the peak memory is segdistill's own),
// `env` assignments ("A=1 B=2") added to the environment; killed after `timeout_seconds`.
MeasuredResult run_segdistill_measured(const std::vector<std::string>& args, double timeout_seconds, const std::string& env = "");

// Runs the segdistill binary with `args`.
CommandResult run_segdistill(const std::vector<std::string>& args, const std::string& env = "");

// Starts `segdistill ARGS` in the background, stdout discarded, stderr to `stderr_path`;
// returns its pid.
pid_t spawn_segdistill(const std::vector<std::string>& args, const std::string& stderr_path = "/dev/null");

bool contains(const std::string& text, const std::string& part);

// The whole file ("" when it cannot be read).
std::string read_file(const std::filesystem::path& path);

// The message of the segdistill::Error that `f` throws, "(no error)" when it throws none.
std::string error_of(const std::function<void()>& f);

// The folder of one test plugin case (good, wrong_api, ...).
std::string test_plugin_dir(const std::string& test_case);
std::string test_plugin_file(const std::string& test_case, const std::string& name);

}  // namespace segdistill_test
