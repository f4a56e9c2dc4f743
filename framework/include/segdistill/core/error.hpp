#pragma once
#include <stdexcept>
#include <string>

#include "segdistill/core/api.hpp"

namespace segdistill {

// An error the user can cause and fix (bad config, missing file, incompatible plugin).
// The command line prints its message as is and exits non-zero, without a trace.
class SEGDISTILL_API Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace segdistill
