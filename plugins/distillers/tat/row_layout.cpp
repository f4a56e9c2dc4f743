#include "row_layout.hpp"

#include "parallel.hpp"

namespace segdistill::tat {

namespace {

// dst[b] = src[b]^T for each sample, where src[b].t() is a plain transpose: LibTorch
// copies those in cache-sized blocks, where a strided copy of a whole channels-first
// tensor into channels-last order would touch a new cache line for every element.
void transpose_samples(const at::Tensor& src, at::Tensor& dst) {
  parallel_without_grad(0, src.size(0), 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; ++b) {
      at::Tensor out = dst[b];
      out.copy_(src[b].t());
    }
  });
}

// The three parts of the row order as views of a natural N x H x W x C tensor and of the
// rows, pairwise of one shape.
struct Parts {
  std::vector<at::Tensor> natural, rows;
};

Parts parts(const at::Tensor& natural, const at::Tensor& rows, const RowLayout& l) {
  const std::int64_t b = natural.size(0), c = natural.size(3), kh = l.patch_h(), kw = l.patch_w();
  const std::int64_t gh = l.n * kh, gw = l.m * kw, grid = l.grid_positions();
  const std::int64_t bottom = (l.height - gh) * l.width, right = gh * (l.width - gw);
  Parts p;
  p.natural.push_back(
      natural.narrow(1, 0, gh).narrow(2, 0, gw).view({b, l.n, kh, l.m / l.group, l.group, kw, c}).permute({0, 1, 3, 2, 5, 4, 6}));
  p.rows.push_back(grid_view(rows, l));
  if (bottom > 0) {
    p.natural.push_back(natural.narrow(1, gh, l.height - gh));
    p.rows.push_back(rows.narrow(1, grid, bottom).view({b, l.height - gh, l.width, c}));
  }
  if (right > 0) {
    p.natural.push_back(natural.narrow(1, 0, gh).narrow(2, gw, l.width - gw));
    p.rows.push_back(rows.narrow(1, grid + bottom, right).view({b, gh, l.width - gw, c}));
  }
  return p;
}

at::Tensor rows_of(const at::Tensor& x, const RowLayout& l) {
  const std::int64_t b = x.size(0), c = x.size(1);
  at::Tensor natural = at::empty({b, l.positions(), c}, x.options());
  transpose_samples(x.contiguous().view({b, c, l.positions()}), natural);
  at::Tensor rows = at::empty_like(natural);
  const Parts p = parts(natural.view({b, l.height, l.width, c}), rows, l);
  for (std::size_t i = 0; i < p.rows.size(); ++i) p.rows[i].copy_(p.natural[i]);
  return rows;
}

at::Tensor nchw_of(const at::Tensor& rows, const RowLayout& l) {
  const std::int64_t b = rows.size(0), c = rows.size(2);
  at::Tensor natural = at::empty({b, l.height, l.width, c}, rows.options());
  const at::Tensor source = rows.contiguous();
  const Parts p = parts(natural, source, l);
  for (std::size_t i = 0; i < p.rows.size(); ++i) p.natural[i].copy_(p.rows[i]);
  at::Tensor x = at::empty({b, c, l.positions()}, rows.options());
  transpose_samples(natural.view({b, l.positions(), c}), x);
  return x.view({b, c, l.height, l.width});
}

class ToRows : public torch::autograd::Function<ToRows> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, std::vector<std::int64_t> layout) {
    ctx->saved_data["layout"] = layout;
    return rows_of(x, RowLayout::from_vector(layout));
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    return {nchw_of(grads[0], RowLayout::from_vector(ctx->saved_data["layout"].toIntVector())), at::Tensor()};
  }
};

class FromRows : public torch::autograd::Function<FromRows> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& rows, std::vector<std::int64_t> layout) {
    ctx->saved_data["layout"] = layout;
    return nchw_of(rows, RowLayout::from_vector(layout));
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    return {rows_of(grads[0], RowLayout::from_vector(ctx->saved_data["layout"].toIntVector())), at::Tensor()};
  }
};

}  // namespace

at::Tensor grid_view(const at::Tensor& rows, const RowLayout& l) {
  return rows.narrow(1, 0, l.grid_positions())
      .view({rows.size(0), l.n, l.m / l.group, l.patch_h(), l.patch_w(), l.group, rows.size(2)});
}

at::Tensor to_rows(const at::Tensor& x, const RowLayout& layout) { return ToRows::apply(x, layout.to_vector()); }
at::Tensor from_rows(const at::Tensor& rows, const RowLayout& layout) { return FromRows::apply(rows, layout.to_vector()); }

}  // namespace segdistill::tat
