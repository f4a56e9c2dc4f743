#include "test_support.hpp"

#include "segdistill/core/error.hpp"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace segdistill_test {

TempDir::TempDir() {
  std::random_device device;
  path_ = fs::temp_directory_path() / ("segdistill_test_" + std::to_string(device()) + std::to_string(device()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& text) const {
  const fs::path file = path_ / name;
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
  return file.string();
}

namespace {
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
}  // namespace

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

pid_t spawn_segdistill(const std::vector<std::string>& args, const std::string& stderr_path) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv{const_cast<char*>(SEGDISTILL_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    freopen("/dev/null", "w", stdout);
    freopen(stderr_path.c_str(), "w", stderr);
    execv(SEGDISTILL_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

CommandResult run_segdistill(const std::vector<std::string>& args, const std::string& env) {
  return run_program(SEGDISTILL_BINARY, args, env);
}

CommandResult run_program(const std::string& program, const std::vector<std::string>& args, const std::string& env) {
  TempDir capture;
  std::string command = env + " " + shell_quote(program);
  for (const auto& arg : args) command += " " + shell_quote(arg);
  command += " >" + shell_quote((capture.path() / "out").string()) + " 2>" + shell_quote((capture.path() / "err").string());
  const int status = std::system(command.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_file(capture.path() / "out");
  result.err = read_file(capture.path() / "err");
  return result;
}

MeasuredResult run_segdistill_measured(const std::vector<std::string>& args, double timeout_seconds, const std::string& env) {
  TempDir capture;
  const std::string out = (capture.path() / "out").string(), err = (capture.path() / "err").string();
  std::vector<std::string> assignments;
  std::istringstream words(env);
  for (std::string word; words >> word;) assignments.push_back(word);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    for (auto& assignment : assignments) putenv(assignment.data());
    std::vector<char*> argv{const_cast<char*>(SEGDISTILL_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (!freopen(out.c_str(), "w", stdout) || !freopen(err.c_str(), "w", stderr)) _exit(126);
    execv(SEGDISTILL_BINARY, argv.data());
    _exit(127);
  }
  MeasuredResult result;
  int status = 0;
  rusage usage{};
  for (;;) {
    const pid_t done = wait4(pid, &status, WNOHANG, &usage);
    if (done == pid) break;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!result.timed_out && elapsed > timeout_seconds) {
      kill(pid, SIGKILL);
      result.timed_out = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.peak_rss_bytes = static_cast<std::int64_t>(usage.ru_maxrss) * 1024;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_file(out);
  result.err = read_file(err);
  return result;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const segdistill::Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string test_plugin_dir(const std::string& test_case) { return (fs::path(SEGDISTILL_TEST_PLUGIN_ROOT) / test_case).string(); }

std::string test_plugin_file(const std::string& test_case, const std::string& name) {
  return (fs::path(test_plugin_dir(test_case)) / ("segdistill_" + name + ".so")).string();
}

}  // namespace segdistill_test
