#include "launcher.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "segdistill/core/error.hpp"
#include "segdistill/core/log.hpp"

namespace segdistill::cli {

namespace {

std::vector<pid_t> children;

void forward_signal(int signal) {
  for (pid_t pid : children)
    if (pid > 0) ::kill(pid, signal);
}

// A port the kernel considers free now; the workers' TCP store binds it next.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("--nproc: cannot open a socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  if (!ok) throw Error(std::string("--nproc: cannot find a free port: ") + std::strerror(errno));
  return ntohs(address.sin_port);
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    return "was killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  }
  return "stopped";
}

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

const char* const kWorkerMarker = "SEGDISTILL_NPROC_WORKER";

// MASTER_PORT as the user set it, checked: a typo must not become port 0.
int fixed_port(const char* text) {
  char* end = nullptr;
  const long port = std::strtol(text, &end, 10);
  if (*end != '\0' || port < 1 || port > 65535)
    throw Error(std::string("environment variable MASTER_PORT='") + text +
                "': expected a port number from 1 to 65535 "
                "(or unset it: --nproc then picks a free port)");
  return static_cast<int>(port);
}

pid_t start_worker(int rank, int nproc, int port) {
  std::vector<std::string>& args = original_arguments();
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t launcher = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw Error(std::string("--nproc: cannot start a worker: ") + std::strerror(errno));
  if (pid == 0) {
    // A worker dies with its launcher (kill -9 of the launcher included), so that no
    // orphan keeps training and holding the work dir's lock. The setting survives exec;
    // a launcher that died before it was made is caught by the parent check.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != launcher) ::_exit(128 + SIGKILL);
    const std::string r = std::to_string(rank), n = std::to_string(nproc), p = std::to_string(port);
    ::setenv("RANK", r.c_str(), 1);
    ::setenv("LOCAL_RANK", r.c_str(), 1);
    ::setenv("WORLD_SIZE", n.c_str(), 1);
    ::setenv("LOCAL_WORLD_SIZE", n.c_str(), 1);
    ::setenv("MASTER_ADDR", "127.0.0.1", 1);
    ::setenv("MASTER_PORT", p.c_str(), 1);
    ::setenv(kWorkerMarker, n.c_str(), 1);
    ::execv("/proc/self/exe", argv.data());
    std::perror("segdistill --nproc: exec");
    ::_exit(127);
  }
  return pid;
}

}  // namespace

std::vector<std::string>& original_arguments() {
  static std::vector<std::string> arguments;
  return arguments;
}

bool started_by_nproc() { return std::getenv(kWorkerMarker) != nullptr; }

int launch_local_workers(int nproc) {
  const char* fixed = std::getenv("MASTER_PORT");
  const int port = fixed && *fixed ? fixed_port(fixed) : free_port();
  std::signal(SIGINT, forward_signal);
  std::signal(SIGTERM, forward_signal);
  for (int rank = 0; rank < nproc; ++rank) children.push_back(start_worker(rank, nproc, port));
  logger()->info("started {} worker processes (ranks 0..{}), rendezvous at 127.0.0.1:{}", nproc, nproc - 1, port);

  int result = 0;
  int running = nproc;
  bool stopping = false;
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (running > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, stopping ? WNOHANG : 0);
    if (pid == 0) {  // stopping: others still alive
      if (std::chrono::steady_clock::now() > deadline) {
        for (pid_t& child : children)
          if (child > 0) ::kill(child, SIGKILL);
        deadline = std::chrono::steady_clock::time_point::max();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    int rank = 0;
    while (rank < nproc && children[static_cast<std::size_t>(rank)] != pid) ++rank;
    if (rank == nproc) continue;
    children[static_cast<std::size_t>(rank)] = -1;
    --running;
    const int code = exit_code(status);
    if (code != 0 && result == 0) {
      result = code;
      // A stop on request (exit 130/143 after saving) is not a failure of the job.
      if (code != 128 + SIGINT && code != 128 + SIGTERM) {
        logger()->error("rank {} {}; stopping the other ranks (continue with --resume from the last checkpoint)", rank,
                        describe(status));
        stopping = true;
        forward_signal(SIGTERM);
        deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      }
    }
  }
  children.clear();
  return result;
}

}  // namespace segdistill::cli
