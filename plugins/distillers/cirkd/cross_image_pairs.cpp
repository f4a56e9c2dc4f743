#include "cross_image_pairs.hpp"

#include "toolbox_math.hpp"

namespace segdistill::cirkd {

namespace {

// Every rank's rows, in rank order; the gradient of the gathered tensor, summed over the
// ranks (each rank's loss reaches every rank's rows), flows back to this rank's rows.
class GatherWithGradient : public torch::autograd::Function<GatherWithGradient> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* context, const at::Tensor& local) {
    context->saved_data["rows"] = local.size(0);
    return gather_from_ranks(local.contiguous());
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* context, torch::autograd::tensor_list grads) {
    const std::int64_t rows = context->saved_data["rows"].toInt();
    std::vector<at::Tensor> sum{grads[0].contiguous().clone()};
    const auto& ranks = current_collectives();
    if (!ranks || ranks->world_size() <= 1) return {sum[0]};
    ranks->all_reduce_sum(sum);
    return {sum[0].narrow(0, ranks->rank() * rows, rows)};
  }
};

}  // namespace

at::Tensor cross_image_kl(const at::Tensor& s, const at::Tensor& t, double tau, bool global_pairs) {
  const auto& ranks = current_collectives();
  const bool across = global_pairs && ranks && ranks->world_size() > 1;
  const at::Tensor s_columns = across ? GatherWithGradient::apply(s) : s;
  const at::Tensor t_columns = across ? gather_from_ranks(t.contiguous()) : t;
  const double rows = static_cast<double>(s.size(1));
  at::Tensor sum = torch::zeros({}, s.options());
  for (std::int64_t i = 0; i < s.size(0); ++i)
    for (std::int64_t j = 0; j < s_columns.size(0); ++j) {
      const at::Tensor p_t = torch::softmax(torch::matmul(t[i], t_columns[j].t()) / tau, 1);
      const at::Tensor log_q = torch::log_softmax(torch::matmul(s[i], s_columns[j].t()) / tau, 1);
      sum = sum + kl_sum(p_t, log_q, rows);
    }
  // Across ranks: this rank's rows of the global pairs, times the world size, so that the
  // average over the ranks (of the value and of the gradients) is the global batch's.
  const double images = static_cast<double>(s_columns.size(0));
  const double scale = across ? static_cast<double>(ranks->world_size()) : 1.0;
  return sum * (scale / (images * images));
}

}  // namespace segdistill::cirkd
