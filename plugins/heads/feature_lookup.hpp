#pragma once
#include <string>
#include <vector>

#include "segdistill/core/error.hpp"
#include "segdistill/modeling/feature.hpp"

namespace segdistill::heads_plugin {

// The backbone output a head needs; an Error naming the ones the backbone has otherwise.
inline const FeatureSpec& require_feature(const std::vector<FeatureSpec>& specs, const std::string& name,
                                          const std::string& head) {
  std::string available;
  for (const auto& spec : specs) {
    if (spec.name == name) return spec;
    available += (available.empty() ? "" : ", ") + spec.name;
  }
  throw Error("head '" + head + "' needs the backbone feature '" + name + "', but the backbone gives only: " + available);
}

}  // namespace segdistill::heads_plugin
