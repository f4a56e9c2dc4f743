#pragma once
// The positions of an N x C x H x W feature as the rows of an N x (H*W) x C tensor
// (channels last), in an order chosen so that every patch-group head is one contiguous
// P x d block: the cropped n x m patch grid first, position by position in the order
// (patch row, group of `group` patch columns, row in patch, column in patch, patch in
// group), then the positions the grid drops (the bottom rows, then the right columns).
//
// In this order the 1x1 embeddings are one matrix product over all rows, BatchNorm sees
// every position (as the published code's does), the stacked-patch heads of TaT's
// patch-group term are views, and its anchor-point pooling is a reduction over two view
// dimensions: no re-arranged copy of q, k, v or of their gradients is ever made.
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace segdistill::tat {

struct RowLayout {
  std::int64_t height, width;  // of the feature
  std::int64_t n, m;           // patch grid
  std::int64_t group;          // patches of one patch row per head (1 for anchor-only use)

  std::int64_t patch_h() const { return height / n; }
  std::int64_t patch_w() const { return width / m; }
  std::int64_t grid_positions() const { return n * patch_h() * m * patch_w(); }
  std::int64_t positions() const { return height * width; }
  // As an autograd node keeps it (saved_data holds IValues).
  std::vector<std::int64_t> to_vector() const { return {height, width, n, m, group}; }
  static RowLayout from_vector(const std::vector<std::int64_t>& v) { return {v[0], v[1], v[2], v[3], v[4]}; }
  bool operator==(const RowLayout& o) const {
    return height == o.height && width == o.width && n == o.n && m == o.m && group == o.group;
  }
};

// N x C x H x W -> N x (H*W) x C in `layout`'s order, and back. Differentiable, each the
// other's backward.
torch::Tensor to_rows(const torch::Tensor& x, const RowLayout& layout);
torch::Tensor from_rows(const torch::Tensor& rows, const RowLayout& layout);

// The grid rows as N x n x (m/group) x kh x kw x group x C (a view).
torch::Tensor grid_view(const torch::Tensor& rows, const RowLayout& layout);

}  // namespace segdistill::tat
