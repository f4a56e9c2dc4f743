#pragma once
// Private to libsegdistill: what differs between two resolved configs, key by key, for
// resuming a run (a change of seed, batch size, schedule, ... breaks exactness).
#include <string>
#include <vector>

namespace segdistill {

struct ConfigChange {
  std::string key;            // dotted path; arrays of tables by index ("distillers.0.weight")
  std::string before, after;  // TOML text; "(absent)" when the key is not there
};

// Both arguments are TOML documents (as Config::to_toml writes them); `source` names
// the first one in errors.
std::vector<ConfigChange> config_changes(const std::string& before, const std::string& after, const std::string& source);

}  // namespace segdistill
