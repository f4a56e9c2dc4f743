#include "segdistill/engine/starting_weights.hpp"

#include <algorithm>

#include "engine/run.hpp"
#include "segdistill/config/schema.hpp"
#include "segdistill/config/sections.hpp"

namespace segdistill {

namespace {
struct SeedKey {
  std::int64_t seed;
  static void declare(Schema<SeedKey>& s) { s.field("seed", &SeedKey::seed, "train.seed").default_value(0).at_least(0); }
};
}  // namespace

std::map<std::string, TensorDict> starting_weights(const Config& config) {
  // No validate_config: exporting the starting weights needs no [data] or optimizer; the
  // networks and distillers check their own tables as they are built.
  Run run(config);
  // Only the seed matters here; a config without an optimizer still has starting weights.
  if (config.root().contains("train")) {
    const ConfigTable train = config.root().table("train");
    std::vector<std::string> others = train.keys();
    others.erase(std::remove(others.begin(), others.end(), "seed"), others.end());
    run.train.seed = parse_options<SeedKey>(train, others).seed;
  }
  build_networks(run);
  std::map<std::string, TensorDict> groups;
  groups["model"] = state_dict(*run.student);
  if (run.teacher) groups["teacher"] = state_dict(*run.teacher);
  if (!run.distillers.empty()) groups["distillers"] = state_dict(*run.distiller_container);
  return groups;
}

}  // namespace segdistill
