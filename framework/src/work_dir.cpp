#include "work_dir.hpp"

#include <algorithm>
#include <filesystem>
#include <regex>
#include <sstream>
#include <vector>

#include "segdistill/error.hpp"
#include "segdistill/log.hpp"

namespace fs = std::filesystem;

namespace segdistill {

WorkDir::WorkDir(std::string root) : root_(std::move(root)) {
  for (const char* sub : {"", "checkpoints", "eval"}) {
    std::error_code ec;
    fs::create_directories(fs::path(root_) / sub, ec);
    if (ec) throw Error(root_ + ": cannot create the work dir: " + ec.message());
  }
}

std::string WorkDir::path(const std::string& relative) const { return (fs::path(root_) / relative).string(); }

std::optional<std::string> WorkDir::latest_checkpoint() const {
  const fs::path latest = fs::path(root_) / "checkpoints" / "latest";
  std::error_code ec;
  if (!fs::exists(latest, ec)) return std::nullopt;
  return fs::canonical(latest, ec).string();
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

  std::vector<std::pair<std::int64_t, fs::path>> saved;
  const std::regex pattern("iter_([0-9]+)\\.pt");
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::smatch match;
    const std::string file = entry.path().filename().string();
    if (std::regex_match(file, match, pattern)) saved.emplace_back(std::stoll(match[1]), entry.path());
  }
  std::sort(saved.begin(), saved.end());
  for (std::size_t i = 0; i + static_cast<std::size_t>(keep_last) < saved.size(); ++i)
    if (saved[i].first != iteration) fs::remove(saved[i].second, ec);
  return (dir / name).string();
}

void WorkDir::open_metrics(std::optional<std::int64_t> resume_from) {
  const std::string file = path("metrics.jsonl");
  if (resume_from) {
    std::ifstream in(file);
    std::vector<std::string> kept;
    std::string line;
    while (std::getline(in, line)) {
      const auto record = nlohmann::json::parse(line, nullptr, false);
      if (record.is_discarded() || !record.contains("iter") || record["iter"].get<std::int64_t>() <= *resume_from)
        kept.push_back(line);
    }
    in.close();
    std::ofstream out(file, std::ios::trunc);
    for (const auto& k : kept) out << k << "\n";
  }
  metrics_.open(file, std::ios::app);
  if (!metrics_) throw Error(file + ": cannot open for writing");
}

void WorkDir::append_metrics(const nlohmann::json& record) {
  metrics_ << record.dump() << "\n";
  metrics_.flush();
}

}  // namespace segdistill
