#include "batched_matmul.hpp"

#include "parallel.hpp"

namespace segdistill::tat {

namespace {

torch::Tensor parallel_products(const torch::Tensor& a, const torch::Tensor& b) {
  const std::int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  const torch::Tensor a3 = a.reshape({-1, m, k}), b3 = b.reshape({-1, k, n});
  torch::Tensor out = torch::empty({a3.size(0), m, n}, a.options());
  parallel_without_grad(0, a3.size(0), 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      torch::Tensor slot = out[i];
      at::mm_out(slot, a3[i], b3[i]);
    }
  });
  std::vector<std::int64_t> shape(a.sizes().begin(), a.sizes().end() - 1);
  shape.push_back(n);
  return out.view(shape);
}

class BatchedMatmul : public torch::autograd::Function<BatchedMatmul> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b) {
    ctx->save_for_backward({a, b});
    return parallel_products(a, b);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &a = saved[0], &b = saved[1], &g = grads[0];
    torch::Tensor da, db;
    if (ctx->needs_input_grad(0)) da = parallel_products(g, b.transpose(-1, -2));
    if (ctx->needs_input_grad(1)) db = parallel_products(a.transpose(-1, -2), g);
    return {da, db};
  }
};

}  // namespace

torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b) {
  return a.device().is_cpu() ? BatchedMatmul::apply(a, b) : at::matmul(a, b);  // GPUs batch products well themselves
}

}  // namespace segdistill::tat
