#include "patch_group_loss.hpp"

#include <numeric>

#include "parallel.hpp"

namespace segdistill::tat {

namespace {

// rows (N x (H*W) x C) -> N x heads x P x d, each head's block contiguous.
at::Tensor heads_of(const at::Tensor& rows, std::int64_t grid, std::int64_t heads, std::int64_t d) {
  return rows.narrow(1, 0, grid).view({rows.size(0), heads, -1, d});
}

// Calls body(sample, head) for every head of the batch, spread over the intra-op threads.
template <class Body>
void for_each_head(std::int64_t batch, std::int64_t heads, const Body& body) {
  parallel_without_grad(0, batch * heads, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) body(i / heads, i % heads);
  });
}

// A row-layout tensor like `like` whose rows outside the grid are zero (the loss does
// not depend on them); the grid rows are left to the caller to fill.
at::Tensor gradient_rows(const at::Tensor& like, std::int64_t grid) {
  at::Tensor g = at::empty_like(like, at::MemoryFormat::Contiguous);
  g.narrow(1, grid, like.size(1) - grid).zero_();
  return g;
}

class PatchGroupLoss : public torch::autograd::Function<PatchGroupLoss> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& target, std::int64_t grid, std::int64_t heads, std::int64_t d) {
    const at::Tensor qh = heads_of(q, grid, heads, d), kh = heads_of(k, grid, heads, d), vh = heads_of(v, grid, heads, d);
    const at::Tensor th = heads_of(target, grid, heads, d);
    const std::int64_t batch = q.size(0), positions = qh.size(2);
    ctx->saved_data["grid"] = grid;
    if (!q.device().is_cpu()) {  // the GPU's batched products need no loop over heads
      const at::Tensor attention = at::softmax(at::matmul(qh, kh.transpose(-1, -2)), -1);
      const at::Tensor diff = at::matmul(attention, vh) - th;
      ctx->save_for_backward({q, k, v, attention, diff});
      return diff.square().sum() / static_cast<double>(diff.numel());
    }
    at::Tensor scores = at::empty({batch, heads, positions, positions}, q.options());
    for_each_head(batch, heads, [&](std::int64_t b, std::int64_t h) {
      at::Tensor s = scores[b][h];
      at::mm_out(s, qh[b][h], kh[b][h].t());
    });
    const at::Tensor attention = at::softmax(scores, -1);
    at::Tensor diff = at::empty({batch, heads, positions, d}, q.options());
    std::vector<double> squares(static_cast<std::size_t>(batch * heads));
    for_each_head(batch, heads, [&](std::int64_t b, std::int64_t h) {
      at::Tensor e = diff[b][h];
      at::mm_out(e, attention[b][h], vh[b][h]);
      e.sub_(th[b][h]);
      const at::Tensor flat = e.view(-1);
      squares[static_cast<std::size_t>(b * heads + h)] = flat.dot(flat).item<double>();
    });
    ctx->save_for_backward({q, k, v, attention, diff});
    const double total = std::accumulate(squares.begin(), squares.end(), 0.0);
    return at::scalar_tensor(total / static_cast<double>(diff.numel()), q.options());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &attention = saved[3], &diff = saved[4];
    const std::int64_t grid = ctx->saved_data["grid"].toInt();
    const std::int64_t batch = diff.size(0), heads = diff.size(1), d = diff.size(3);
    // d loss / d out = 2 (out - target) / numel, folded into the products as a scale.
    const double scale = 2.0 * grads[0].item<double>() / static_cast<double>(diff.numel());
    const at::Tensor qh = heads_of(q, grid, heads, d), kh = heads_of(k, grid, heads, d), vh = heads_of(v, grid, heads, d);
    at::Tensor dq = gradient_rows(q, grid), dk = gradient_rows(k, grid), dv = gradient_rows(v, grid), dt;
    const at::Tensor dqh = heads_of(dq, grid, heads, d), dkh = heads_of(dk, grid, heads, d), dvh = heads_of(dv, grid, heads, d);
    if (!diff.device().is_cpu()) {
      const at::Tensor e = diff * scale;
      dvh.copy_(at::matmul(attention.transpose(-1, -2), e));
      const at::Tensor da = at::matmul(e, vh.transpose(-1, -2));
      const at::Tensor ds = (da - (da * attention).sum(-1, /*keepdim=*/true)) * attention;
      dqh.copy_(at::matmul(ds, kh));
      dkh.copy_(at::matmul(ds.transpose(-1, -2), qh));
    } else {
      for_each_head(batch, heads, [&](std::int64_t b, std::int64_t h) {
        const at::Tensor e = diff[b][h], a = attention[b][h];
        at::Tensor dv_head = dvh[b][h], dq_head = dqh[b][h], dk_head = dkh[b][h];
        at::mm_out(dv_head, a.t(), e).mul_(scale);
        at::Tensor da = at::mm(e, vh[b][h].t()).mul_(scale);
        // softmax backward: ds = a * (da - rowsum(da * a))
        at::Tensor ds = da.sub_((da * a).sum(-1, /*keepdim=*/true)).mul_(a);
        at::mm_out(dq_head, ds, kh[b][h]);
        at::mm_out(dk_head, ds.t(), qh[b][h]);
      });
    }
    if (ctx->needs_input_grad(3)) {
      dt = gradient_rows(q, grid);
      heads_of(dt, grid, heads, d).copy_(diff * -scale);
    }
    return {dq, dk, dv, dt, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor patch_group_loss(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& target,
                            const RowLayout& layout) {
  return PatchGroupLoss::apply(q.contiguous(), k.contiguous(), v.contiguous(), target.contiguous(), layout.grid_positions(),
                               layout.n * layout.m / layout.group, layout.group * q.size(2));
}

}  // namespace segdistill::tat
