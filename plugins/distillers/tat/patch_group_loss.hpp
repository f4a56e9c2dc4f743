#pragma once
// TaT's patch-group term on features in a RowLayout: for each sample and head,
// out = softmax(q k^T) v over the P = kh*kw positions of the head's stacked patches (no
// 1/sqrt(d) scaling), and the loss is the mean squared error between out and the target
// over all heads, positions and stacked channels of the batch.
//
// One autograd node instead of a chain of LibTorch ops: the heads are read as views of
// the rows, the products of all heads are spread over the intra-op threads, and the
// gradients of q, k, v are written straight into row-layout tensors (only the few rows
// the grid drops are zero-filled), so no gradient is re-arranged or accumulated twice.
#include <torch/torch.h>

#include "row_layout.hpp"

namespace segdistill::tat {

// q, k, v, target: N x (H*W) x C rows in `layout`, whose grid holds heads x P x d
// (d = layout.group * C) per sample. Differentiable in q, k, v and target.
torch::Tensor patch_group_loss(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& target, const RowLayout& layout);

}  // namespace segdistill::tat
