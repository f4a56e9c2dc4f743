#include "metrics_records.hpp"

#include <cstdint>
#include <sstream>
#include <stdexcept>

#include "segdistill/core/error.hpp"
#include "segdistill/core/untrusted_file.hpp"

namespace segdistill::plotting {

std::vector<nlohmann::json> read_metrics_records(const std::string& work_dir, bool skip_unparsable) {
  const std::string path = work_dir + "/metrics.jsonl";
  // A work dir's own metrics (a few MB for the longest runs); 1 GiB bounds a hostile one.
  std::vector<char> bytes;
  try {
    bytes = segdistill::read_untrusted_file(path, "metrics file", std::uint64_t{1} << 30, "metrics files are at most 1 GiB");
  } catch (const segdistill::Error& e) {
    throw std::runtime_error(std::string(e.what()) + " (is it a segdistill work dir?)");
  }
  std::istringstream in(std::string(bytes.begin(), bytes.end()));
  std::vector<nlohmann::json> records;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    try {
      records.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception& e) {
      if (!skip_unparsable) throw std::runtime_error(path + ":" + std::to_string(number) + ": not JSON: " + e.what());
    }
  }
  return records;
}

}  // namespace segdistill::plotting
