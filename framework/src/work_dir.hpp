#pragma once
// Private to libsegdistill: the files of a training run.
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "segdistill/checkpoint.hpp"

namespace segdistill {

class WorkDir {
 public:
  // Creates the folder tree; Error naming the path when it cannot.
  explicit WorkDir(std::string root);
  const std::string& root() const { return root_; }
  std::string path(const std::string& relative) const;

  // checkpoints/latest, resolved; nullopt when there is none.
  std::optional<std::string> latest_checkpoint() const;
  // Writes checkpoints/iter_N.pt atomically, points `latest` at it, deletes the oldest
  // beyond keep_last. Returns the path.
  std::string save_checkpoint(const Checkpoint& checkpoint, std::int64_t iteration, std::int64_t keep_last);

  // Opens metrics.jsonl; with `resume_from`, drops the records of iterations after it
  // (they are redone) first.
  void open_metrics(std::optional<std::int64_t> resume_from);
  void append_metrics(const nlohmann::json& record);

 private:
  std::string root_;
  std::ofstream metrics_;
};

}  // namespace segdistill
