#include "row_linear.hpp"

#include "parallel.hpp"

namespace segdistill::tat {

namespace {

// Rows per block: large enough that each block is one efficient BLAS call.
constexpr std::int64_t kRowGrain = 2048;

at::Tensor flat(const at::Tensor& rows) { return rows.contiguous().view({-1, rows.size(-1)}); }

// out = a @ b, blocked over the rows of a.
void rows_product(const at::Tensor& a, const at::Tensor& b, at::Tensor& out) {
  if (!a.device().is_cpu()) {  // one product: a GPU's BLAS spreads it itself
    at::mm_out(out, a, b);
    return;
  }
  parallel_without_grad(0, a.size(0), kRowGrain, [&](std::int64_t begin, std::int64_t end) {
    at::Tensor block = out.narrow(0, begin, end - begin);
    at::mm_out(block, a.narrow(0, begin, end - begin), b);
  });
}

// rows @ weight^T, shaped like rows with weight.size(0) columns.
at::Tensor apply_weight(const at::Tensor& rows, const at::Tensor& weight) {
  const at::Tensor x = flat(rows);
  at::Tensor y = at::empty({x.size(0), weight.size(0)}, rows.options());
  rows_product(x, weight.t(), y);
  std::vector<std::int64_t> shape = rows.sizes().vec();
  shape.back() = weight.size(0);
  return y.view(shape);
}

// g^T @ x, blocked over the output channels: every block sums over all rows itself, so
// the threads never add into one another's results.
at::Tensor weight_gradient(const at::Tensor& g, const at::Tensor& x, const at::Tensor& weight) {
  at::Tensor dw = at::empty_like(weight);
  if (!x.device().is_cpu()) return at::mm_out(dw, g.t(), x);
  parallel_without_grad(0, weight.size(0), 1, [&](std::int64_t begin, std::int64_t end) {
    at::Tensor block = dw.narrow(0, begin, end - begin);
    at::mm_out(block, g.narrow(1, begin, end - begin).t(), x);
  });
  return dw;
}

class RowLinear : public torch::autograd::Function<RowLinear> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& rows, const at::Tensor& weight) {
    ctx->save_for_backward({rows, weight});
    return apply_weight(rows, weight);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor x = flat(saved[0]), &weight = saved[1], g = flat(grads[0]);
    at::Tensor dx, dw;
    if (ctx->needs_input_grad(0)) {
      dx = at::empty_like(x);
      rows_product(g, weight, dx);
      dx = dx.view(saved[0].sizes());
    }
    if (ctx->needs_input_grad(1)) dw = weight_gradient(g, x, weight);
    return {dx, dw};
  }
};

}  // namespace

at::Tensor row_linear(const at::Tensor& rows, const at::Tensor& weight) { return RowLinear::apply(rows, weight); }

}  // namespace segdistill::tat
