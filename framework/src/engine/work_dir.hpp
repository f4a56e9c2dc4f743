#pragma once
// Private to libsegdistill: the files of a training run.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "segdistill/checkpoint/checkpoint.hpp"

namespace segdistill {

// How a run may use its work dir.
enum class WorkDirMode {
  Fresh,      // refuse a folder that holds a previous run
  Overwrite,  // move a previous run aside (ROOT.replaced-N), then start afresh
  Resume,     // continue the run in the folder
  Follower,   // a data-parallel rank other than 0: reads only, rank 0 owns the folder
};

// metrics.jsonl is read back whole on --resume.
inline constexpr std::uint64_t kMaxMetricsBytes = std::uint64_t{1} << 30;

class WorkDir {
 public:
  // Creates the folder tree and takes the folder's lock (.lock, flock) for the life of
  // the object, so that two runs never write into one folder; then applies `mode`.
  // Errors name the folder, what is in the way and the option that resolves it.
  WorkDir(std::string root, WorkDirMode mode);
  ~WorkDir();
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  const std::string& root() const { return root_; }
  std::string path(const std::string& relative) const;

  // checkpoints/latest, resolved; when it is missing or dangling, the newest
  // iter_N.pt (with a warning); nullopt when there is no checkpoint.
  std::optional<std::string> latest_checkpoint() const;
  // Writes checkpoints/iter_N.pt atomically, points `latest` at it, deletes the oldest
  // beyond keep_last. Returns the path.
  std::string save_checkpoint(const Checkpoint& checkpoint, std::int64_t iteration, std::int64_t keep_last);

  // Opens metrics.jsonl; with `resume_from`, drops the records of iterations after it
  // (they are redone) first.
  void open_metrics(std::optional<std::int64_t> resume_from);
  void append_metrics(const nlohmann::json& record);

 private:
  void lock();
  // Error when a file or folder the run writes is a symbolic link.
  void refuse_links() const;
  // checkpoints/iter_N.pt by N.
  std::vector<std::pair<std::int64_t, std::filesystem::path>> saved_checkpoints() const;
  // The files of a previous run in the folder ("" when there are none).
  std::string previous_run() const;
  void move_previous_run_aside();

  std::string root_;
  int lock_fd_ = -1;
  std::ofstream metrics_;
};

}  // namespace segdistill
