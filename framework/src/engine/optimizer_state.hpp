#pragma once
// Private to libsegdistill: the optimizer's state as named tensors for checkpoints, so
// that resuming reads plain tensors and never an archive that could carry code.
#include <string>

#include <torch/optim/optimizer.h>

#include "segdistill/checkpoint/checkpoint.hpp"

namespace segdistill {

// SGD: "momentum_buffer.G.I" for parameter I of group G, for each parameter that has one.
// AdamW: "exp_avg.G.I", "exp_avg_sq.G.I" and "step.G.I" (an int64 scalar).
TensorDict optimizer_state(const torch::optim::Optimizer& optimizer);

// Replaces the optimizer's state with `tensors`. Every name must be one optimizer_state
// writes for this optimizer's type and groups, with its parameter's shape; otherwise an
// Error naming `source` and the entry, and the optimizer is left as it was.
void load_optimizer_state(torch::optim::Optimizer& optimizer, const TensorDict& tensors, const std::string& source);

}  // namespace segdistill
