#include "anchor_pooling.hpp"

#include <ATen/Dispatch.h>
#include "parallel.hpp"

namespace segdistill::tat {

namespace {

// The grid rows are blocks of kh x kw x g x C values, one per (sample, patch row, group
// of patch columns); an anchor cell is kernel_h x kernel_w positions of one block, and
// the cells of a block come out as (kh / kernel_h) x (kw / kernel_w) x g x C. Plain loops
// over contiguous runs of g x C values: one pass over the rows, where LibTorch's mean
// over two strided dimensions of this 9-D view makes several.
struct Cells {
  std::int64_t blocks_per_sample, kh, kw, kernel_h, kernel_w, run;  // run = g * C
  std::int64_t cells_h() const { return kh / kernel_h; }
  std::int64_t cells_w() const { return kw / kernel_w; }
  std::int64_t block_size() const { return kh * kw * run; }
  std::int64_t cells_size() const { return cells_h() * cells_w() * run; }
};

Cells cells_of(const RowLayout& l, std::int64_t kernel_h, std::int64_t kernel_w, std::int64_t channels) {
  return {l.n * (l.m / l.group), l.patch_h(), l.patch_w(), kernel_h, kernel_w, l.group * channels};
}

// Calls visit(position run, its cell's run, block's cells) for every grid position of
// every block of the batch, the blocks spread over the threads. `rows` holds `sample`
// values per sample (the grid first), `cells` the blocks' cells back to back.
template <class Scalar, class Visit>
void for_each_position(const Cells& c, std::int64_t batch, std::int64_t sample, Scalar* rows, Scalar* cells, const Visit& visit) {
  parallel_without_grad(0, batch * c.blocks_per_sample, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t block = begin; block < end; ++block) {
      Scalar* block_rows = rows + (block / c.blocks_per_sample) * sample + (block % c.blocks_per_sample) * c.block_size();
      Scalar* block_cells = cells + block * c.cells_size();
      for (std::int64_t i = 0; i < c.kh; ++i)
        for (std::int64_t j = 0; j < c.kw; ++j)
          visit(block_rows + (i * c.kw + j) * c.run, block_cells + ((i / c.kernel_h) * c.cells_w() + j / c.kernel_w) * c.run);
    }
  });
}

// The grid rows as N x n x m/g x (kh / kernel_h) x kernel_h x (kw / kernel_w) x kernel_w
// x g x C: the device-independent form of the same pooling, for tensors not on the CPU.
at::Tensor cell_view(const at::Tensor& rows, const RowLayout& l, std::int64_t kernel_h, std::int64_t kernel_w) {
  return grid_view(rows, l).view({rows.size(0), l.n, l.m / l.group, l.patch_h() / kernel_h, kernel_h, l.patch_w() / kernel_w,
                                  kernel_w, l.group, rows.size(2)});
}

at::Tensor pool(const at::Tensor& rows, const RowLayout& l, std::int64_t kernel_h, std::int64_t kernel_w) {
  if (!rows.device().is_cpu())
    return cell_view(rows, l, kernel_h, kernel_w).mean({4, 6}).reshape({rows.size(0), 1, -1, rows.size(2)});
  const Cells c = cells_of(l, kernel_h, kernel_w, rows.size(2));
  const std::int64_t batch = rows.size(0), sample = rows.size(1) * rows.size(2);
  at::Tensor out = at::zeros({batch, 1, c.blocks_per_sample * c.cells_h() * c.cells_w() * l.group, rows.size(2)}, rows.options());
  AT_DISPATCH_FLOATING_TYPES(rows.scalar_type(), "pool_anchors", [&] {
    for_each_position(c, batch, sample, rows.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
                      [&](const scalar_t* from, scalar_t* to) {
                        for (std::int64_t x = 0; x < c.run; ++x) to[x] += from[x];
                      });
  });
  out.div_(static_cast<double>(kernel_h * kernel_w));  // the cells are small next to the rows
  return out;
}

// The gradient of pool(): each cell's gradient / cell size at each of its positions,
// zero in the rows the grid drops.
at::Tensor spread(const at::Tensor& grad, const RowLayout& l, std::int64_t kernel_h, std::int64_t kernel_w,
                  std::int64_t positions) {
  const at::Tensor g = grad.contiguous();
  const Cells c = cells_of(l, kernel_h, kernel_w, g.size(3));
  const std::int64_t batch = g.size(0), sample = positions * g.size(3), grid = l.grid_positions();
  at::Tensor d = at::empty({batch, positions, g.size(3)}, g.options());
  d.narrow(1, grid, positions - grid).zero_();
  if (!g.device().is_cpu()) {
    at::Tensor cells = cell_view(d, l, kernel_h, kernel_w);
    const std::vector<std::int64_t> shape{batch, l.n, l.m / l.group, c.cells_h(), 1, c.cells_w(), 1, l.group, g.size(3)};
    cells.copy_((g / static_cast<double>(kernel_h * kernel_w)).view(shape).expand_as(cells));
    return d;
  }
  AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "spread_anchors", [&] {
    const scalar_t scale = scalar_t(1) / static_cast<scalar_t>(kernel_h * kernel_w);
    for_each_position(c, batch, sample, d.data_ptr<scalar_t>(), g.data_ptr<scalar_t>(), [&](scalar_t* to, const scalar_t* from) {
      for (std::int64_t x = 0; x < c.run; ++x) to[x] = from[x] * scale;
    });
  });
  return d;
}

class PoolAnchors : public torch::autograd::Function<PoolAnchors> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& rows, std::vector<std::int64_t> layout,
                            std::int64_t kernel_h, std::int64_t kernel_w) {
    ctx->saved_data["layout"] = layout;
    ctx->saved_data["kernel_h"] = kernel_h;
    ctx->saved_data["kernel_w"] = kernel_w;
    ctx->saved_data["positions"] = rows.size(1);
    return pool(rows, RowLayout::from_vector(layout), kernel_h, kernel_w);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const RowLayout l = RowLayout::from_vector(ctx->saved_data["layout"].toIntVector());
    return {spread(grads[0], l, ctx->saved_data["kernel_h"].toInt(), ctx->saved_data["kernel_w"].toInt(),
                   ctx->saved_data["positions"].toInt()),
            at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

std::optional<AnchorCells> anchor_cells(const RowLayout& l, std::int64_t anchors_h, std::int64_t anchors_w) {
  const AnchorCells cells{l.height / anchors_h, l.width / anchors_w};
  if (cells.kernel_h == 0 || cells.kernel_w == 0) return std::nullopt;
  // avg_pool2d keeps every whole cell: H / kernel_h rows of anchors, which can be more
  // than anchors_h (33 / (33 / 32) = 33).
  const std::int64_t rows = l.height / cells.kernel_h, columns = l.width / cells.kernel_w;
  const bool tiles = l.patch_h() % cells.kernel_h == 0 && l.patch_w() % cells.kernel_w == 0 &&
                     l.n * l.patch_h() == rows * cells.kernel_h && l.m * l.patch_w() == columns * cells.kernel_w;
  if (!tiles) return std::nullopt;
  return cells;
}

at::Tensor pool_anchors(const at::Tensor& rows, const RowLayout& l, const AnchorCells& cells) {
  return PoolAnchors::apply(rows.contiguous(), l.to_vector(), cells.kernel_h, cells.kernel_w);
}

}  // namespace segdistill::tat
