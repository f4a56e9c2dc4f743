#pragma once
// CIRKD's mini-batch terms: KL between the networks' similarity rows over every ordered
// pair of images. The toolbox pairs the images of each process's batch only (its facts,
// section 6, defect 3); `pairs = "global"` pairs those of the whole global batch, so that
// a data-parallel run computes what one process computes on that batch.
#include <string>

#include <torch/torch.h>

#include "segdistill/sdk.hpp"

namespace segdistill::cirkd {

// The help of the mini-batch terms' `pairs` option ("rank" or "global").
inline const char* const kPairsOptionHelp =
    "which images are paired: \"rank\" (the toolbox: those of each process's batch) or \"global\" (those of the whole "
    "global batch; what one process computes, at any number of processes)";

// Sum over the ordered pairs (i, j), i = j included, of KL(softmax(t_i t_j^T / tau) ||
// softmax(s_i s_j^T / tau)) along each row / the rows, divided by B^2. s, t: B x rows x D
// (D may differ between them), this process's images. With `global_pairs`, j runs over
// the images of every rank (the student's reached through a gather that passes gradients
// back to their rank), and the value is scaled so that the ranks' averaged gradients are
// one process's on the global batch. Pair by pair: all pairs at once would hold (B rows)^2
// similarities.
at::Tensor cross_image_kl(const at::Tensor& s, const at::Tensor& t, double tau, bool global_pairs);

}  // namespace segdistill::cirkd
