#pragma once
// A condition the user's input must meet, with the message formatted only when it fails:
//
//   require(batch % ranks == 0, "train.batch_size = {} is not divisible by {} ranks", batch, ranks);
#include <utility>

#include <spdlog/fmt/fmt.h>

#include "segdistill/core/error.hpp"

namespace segdistill {

template <class... Args>
void require(bool condition, fmt::format_string<Args...> format, Args&&... args) {
  if (!condition) throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace segdistill
