#pragma once
// TaT's anchor points taken from features in a RowLayout: the average of every
// kernel_h x kernel_w cell of the anchor grid, as N x 1 x A x C (A = anchors_h *
// anchors_w). The anchors come out in the layout's order, not row-major: attention over
// all anchors followed by a mean squared error does not depend on their order as long as
// q, k, v and the target share it.
#include <optional>

#include <torch/torch.h>

#include "row_layout.hpp"

namespace segdistill::tat {

struct AnchorCells {
  std::int64_t kernel_h, kernel_w;
};

// The cells of the anchor grid (kernel = feature size / anchors; avg_pool2d with kernel =
// stride keeps every whole cell) when they tile `layout`'s patch grid exactly; none
// otherwise (the caller then pools the N x C x H x W features).
std::optional<AnchorCells> anchor_cells(const RowLayout& layout, std::int64_t anchors_h, std::int64_t anchors_w);

// Differentiable; the backward writes the spread gradient straight into row layout.
torch::Tensor pool_anchors(const torch::Tensor& rows, const RowLayout& layout, const AnchorCells& cells);

}  // namespace segdistill::tat
