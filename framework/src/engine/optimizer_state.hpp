#pragma once
// Private to libsegdistill: SGD's state as named tensors for checkpoints, so that
// resuming reads plain tensors and never an archive that could carry code.
#include <string>

#include <torch/optim/sgd.h>

#include "segdistill/checkpoint/checkpoint.hpp"

namespace segdistill {

// "momentum_buffer.G.I" for parameter I of group G, for each parameter that has one.
TensorDict sgd_state(const torch::optim::SGD& optimizer);

// Replaces the optimizer's state with `tensors`. Every name must be one sgd_state writes
// for this optimizer's groups, with its parameter's shape; otherwise an Error naming
// `source` and the entry, and the optimizer is left as it was.
void load_sgd_state(torch::optim::SGD& optimizer, const TensorDict& tensors, const std::string& source);

}  // namespace segdistill
