#pragma once
// The records of a work dir's metrics.jsonl, read as the untrusted file it is (at most
// 1 GiB): what `segdistill plot`, the demo's table and its progress line read.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace segdistill::plotting {

// WORK_DIR/metrics.jsonl, one JSON value per line, in order. A line that is not JSON
// throws std::runtime_error naming the file and line, unless `skip_unparsable` (a run
// still writing its last line), which leaves it out. An unreadable file throws
// std::runtime_error with the reader's message ("PATH: metrics file not found (is it a
// segdistill work dir?)", ...).
std::vector<nlohmann::json> read_metrics_records(const std::string& work_dir, bool skip_unparsable = false);

}  // namespace segdistill::plotting
