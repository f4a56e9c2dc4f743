#pragma once
// Folding inference BatchNorm into the convolution before it: y = gamma (Wx + b - mean) /
// sqrt(var + eps) + beta is one convolution with scaled weights and a bias, so a network
// that only infers (a teacher in eval mode) skips a pass over every feature map.
#include <cstdint>

#include "segdistill/core/api.hpp"

namespace torch::nn {
class Module;
}

namespace segdistill {

class Segmentor;

// Folds every segdistill::BatchNorm2d of `network` that directly follows a Conv2d with
// its channel count (in registration order; the folded BatchNorm then passes its input
// through) and checks the result: the network's features on a random input must match
// the unfolded ones (relative 1e-4), or everything is put back. Returns the number of
// BatchNorm layers folded (0 when the check failed). The network must stay in eval mode.
SEGDISTILL_API std::int64_t fold_batch_norms(Segmentor& network);

}  // namespace segdistill
