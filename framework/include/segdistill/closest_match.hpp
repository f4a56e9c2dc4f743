#pragma once
#include <optional>
#include <string>
#include <vector>

#include "segdistill/api.hpp"

namespace segdistill {

// Edit distance between two strings (insertions, deletions, substitutions).
SEGDISTILL_API std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `name`, when it is close enough to be a likely typo.
SEGDISTILL_API std::optional<std::string> closest_match(const std::string& name,
                                                        const std::vector<std::string>& candidates);

// "a, b, c" of the candidates sorted, with the closest match to `name` moved first
// (written as "did you mean 'x'?" by the callers that want it).
SEGDISTILL_API std::string describe_choices(const std::string& name, std::vector<std::string> candidates);

SEGDISTILL_API std::string join(const std::vector<std::string>& items, const std::string& separator);

}  // namespace segdistill
