#pragma once
// CIRKDV2's GCN adaptor (its facts, 1.13): a non-local block on the student's feature,
// whose output the FitNet, mini-batch, memory and channel terms distil instead of the
// feature. One adaptor per student feature, shared by every distiller with `gcn = true`
// on it (its parameters train with the student's; it is not part of the student).
#include <torch/torch.h>

#include "segdistill/sdk.hpp"

namespace segdistill::cirkd {

class GcnImpl : public torch::nn::Module {
 public:
  explicit GcnImpl(std::int64_t channels);
  // The adaptor's output for `x`. Every distiller of a step hands it the same feature:
  // it is computed once (one BatchNorm update, one graph), as the toolbox computes it.
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Conv2d node_k{nullptr}, node_v{nullptr}, node_q{nullptr};
  torch::nn::Sequential conv1{nullptr}, out_conv{nullptr};

 private:
  at::Tensor compute(const at::Tensor& x);
  at::Tensor last_input_, last_output_;
};
TORCH_MODULE(Gcn);

// The GCN of the context's student feature, created by the first distiller that asks, and
// registered as `gcn` in `distiller`.
Gcn shared_gcn(torch::nn::Module& distiller, const DistillerContext& context);

}  // namespace segdistill::cirkd
