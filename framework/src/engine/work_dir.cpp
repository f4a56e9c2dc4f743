#include "engine/work_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <regex>
#include <sstream>
#include <vector>

#include "core/atomic_file.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/core/untrusted_file.hpp"

namespace fs = std::filesystem;

namespace segdistill {

WorkDir::WorkDir(std::string root, WorkDirMode mode) : root_(std::move(root)) {
  if (mode == WorkDirMode::Follower) return;
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) throw Error(root_ + ": cannot create the work dir: " + ec.message());
  lock();
  refuse_links();
  const std::string previous = previous_run();
  if (!previous.empty() && mode == WorkDirMode::Fresh)
    throw Error(root_ + ": the work dir holds a previous run (" + previous +
                "); continue it with --resume, start afresh with --overwrite (the previous run is moved to " + root_ +
                ".replaced-N, not deleted), or choose another --work-dir");
  if (!previous.empty() && mode == WorkDirMode::Overwrite) move_previous_run_aside();
  for (const char* sub : {"checkpoints", "eval"}) {
    fs::create_directories(fs::path(root_) / sub, ec);
    if (ec) throw Error(root_ + ": cannot create the work dir: " + ec.message());
  }
}

WorkDir::~WorkDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void WorkDir::lock() {
  const std::string file = path(".lock");
  // O_NOFOLLOW: a link planted as .lock would have its target truncated to our pid.
  lock_fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (lock_fd_ < 0 && errno == ELOOP)
    throw Error(file + " is a symbolic link; segdistill writes a run's files only inside its work dir: remove it");
  if (lock_fd_ < 0) throw Error(file + ": cannot create the work dir's lock file: " + std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = {0};
    const ssize_t n = ::pread(lock_fd_, holder, sizeof(holder) - 1, 0);
    std::string pid = n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : "";
    pid.erase(std::remove(pid.begin(), pid.end(), '\n'), pid.end());
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw Error(root_ + ": another segdistill run is using this work dir" + (pid.empty() ? "" : " (process " + pid + ")") +
                "; wait for it to end or choose another --work-dir");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) == 0) (void)!::pwrite(lock_fd_, pid.data(), pid.size(), 0);
}

void WorkDir::refuse_links() const {
  // What segdistill writes in the folder must be in the folder: a planted link would make
  // a checkpoint, a log line or a pruning delete land elsewhere.
  for (const char* name : {"config.toml", "metrics.jsonl", "log.txt", "checkpoints", "eval", "tensorboard"}) {
    const fs::path entry = fs::path(root_) / name;
    std::error_code ec;
    if (fs::is_symlink(entry, ec))
      throw Error(entry.string() + " is a symbolic link (to " + fs::read_symlink(entry, ec).string() +
                  "); segdistill writes a run's files only inside its work dir: replace the link with the " +
                  (std::string(name).find('.') == std::string::npos ? "folder" : "file") +
                  " itself, or choose another --work-dir");
  }
}

std::string WorkDir::previous_run() const {
  std::vector<std::string> found;
  std::error_code ec;
  for (const char* file : {"config.toml", "metrics.jsonl", "log.txt"})
    if (fs::exists(fs::path(root_) / file, ec)) found.emplace_back(file);
  // Temporary files of an interrupted write are no run of their own.
  for (const char* sub : {"checkpoints", "eval"})
    for (const auto& entry : fs::directory_iterator(fs::path(root_) / sub, ec))
      if (entry.path().extension() != ".tmp") {
        found.push_back(std::string(sub) + "/");
        break;
      }
  std::string out;
  for (const auto& f : found) out += (out.empty() ? "" : ", ") + f;
  return out;
}

void WorkDir::move_previous_run_aside() {
  std::string target;
  std::error_code ec;
  for (int n = 1;; ++n) {
    target = root_ + ".replaced-" + std::to_string(n);
    if (!fs::exists(target, ec)) break;
  }
  fs::create_directories(target, ec);
  if (ec) throw Error(target + ": cannot create the folder for the previous run: " + ec.message());
  for (const auto& entry : fs::directory_iterator(root_)) {
    if (entry.path().filename() == ".lock") continue;
    fs::rename(entry.path(), fs::path(target) / entry.path().filename(), ec);
    if (ec) throw Error(entry.path().string() + ": cannot move the previous run aside to " + target + ": " + ec.message());
  }
  logger()->warn("--overwrite: moved the previous run of {} to {}", root_, target);
}

std::string WorkDir::path(const std::string& relative) const { return (fs::path(root_) / relative).string(); }

std::optional<std::string> WorkDir::latest_checkpoint() const {
  const fs::path dir = fs::path(root_) / "checkpoints";
  const fs::path latest = dir / "latest";
  std::error_code ec;
  if (fs::exists(latest, ec)) {
    // `latest` names a file of this folder; a link leading elsewhere is not this run's.
    const fs::path target = fs::canonical(latest, ec);
    if (target.parent_path() != fs::canonical(dir, ec))
      throw Error(latest.string() + " points at " + target.string() +
                  ", outside the run's checkpoints folder; resume reads only this run's own checkpoints");
    return target.string();
  }
  // `latest` is missing or dangling (its target deleted by hand, a copy without links):
  // the newest iter_N.pt is the run's last checkpoint.
  const auto saved = saved_checkpoints();
  if (saved.empty()) return std::nullopt;
  logger()->warn("{} {}; using the newest checkpoint, {}", latest.string(),
                 fs::is_symlink(latest, ec) ? "points at a missing file" : "is missing", saved.back().second.string());
  return saved.back().second.string();
}

std::vector<std::pair<std::int64_t, fs::path>> WorkDir::saved_checkpoints() const {
  std::vector<std::pair<std::int64_t, fs::path>> saved;
  const std::regex pattern("iter_([0-9]{1,18})\\.pt");
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(root_) / "checkpoints", ec)) {
    std::smatch match;
    const std::string file = entry.path().filename().string();
    // A link is never one of this run's checkpoints: reading or pruning it would reach elsewhere.
    if (std::regex_match(file, match, pattern) && !entry.is_symlink(ec)) saved.emplace_back(std::stoll(match[1]), entry.path());
  }
  std::sort(saved.begin(), saved.end());
  return saved;
}

std::string WorkDir::save_checkpoint(const Checkpoint& checkpoint, std::int64_t iteration, std::int64_t keep_last) {
  const fs::path dir = fs::path(root_) / "checkpoints";
  const std::string name = "iter_" + std::to_string(iteration) + ".pt";
  segdistill::save_checkpoint(checkpoint, (dir / name).string());
  // `latest` is a symbolic link replaced atomically (a new link renamed over the old).
  const fs::path link = dir / "latest", temporary = dir / "latest.tmp";
  std::error_code ec;
  fs::remove(temporary, ec);
  fs::create_symlink(name, temporary, ec);
  if (!ec) fs::rename(temporary, link, ec);
  if (ec) throw Error((dir / "latest").string() + ": cannot point at " + name + ": " + ec.message());

  const auto saved = saved_checkpoints();
  for (std::size_t i = 0; i + static_cast<std::size_t>(keep_last) < saved.size(); ++i)
    if (saved[i].first != iteration) fs::remove(saved[i].second, ec);
  return (dir / name).string();
}

void WorkDir::open_metrics(std::optional<std::int64_t> resume_from) {
  const std::string file = path("metrics.jsonl");
  std::error_code ec;
  if (resume_from && fs::exists(file, ec)) {
    const std::vector<char> bytes =
        read_untrusted_file(file, "metrics file", kMaxMetricsBytes, "metrics files are at most 1 GiB");
    std::istringstream in(std::string(bytes.begin(), bytes.end()));
    std::string kept, line;
    while (std::getline(in, line)) {
      const auto record = nlohmann::json::parse(line, nullptr, false);
      if (record.is_discarded() || !record.is_object() || !record.contains("iter") || !record["iter"].is_number_integer() ||
          record["iter"].get<std::int64_t>() <= *resume_from)
        kept += line + "\n";
    }
    write_file_atomically(file, std::vector<char>(kept.begin(), kept.end()), "metrics file");
  }
  metrics_.open(file, std::ios::app);
  if (!metrics_) throw Error(file + ": cannot open for writing");
}

void WorkDir::append_metrics(const nlohmann::json& record) {
  metrics_ << record.dump() << "\n";
  metrics_.flush();
}

}  // namespace segdistill
