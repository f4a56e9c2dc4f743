#include "gcn_adaptor.hpp"

#include <cmath>

namespace segdistill::cirkd {

namespace {
torch::nn::Conv2d pointwise(std::int64_t in, std::int64_t out) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).bias(false));
}
}  // namespace

GcnImpl::GcnImpl(std::int64_t c) {
  node_k = register_module("node_k", pointwise(c, c / 2));
  node_v = register_module("node_v", pointwise(c, c / 2));
  node_q = register_module("node_q", pointwise(c, c / 2));
  conv1 = register_module("conv1", torch::nn::Sequential(pointwise(c / 2, c), BatchNorm2d(c), torch::nn::ReLU()));
  out_conv = register_module("out_conv", torch::nn::Sequential(pointwise(2 * c, c), BatchNorm2d(c), torch::nn::ReLU()));
}

at::Tensor GcnImpl::forward(const at::Tensor& x) {
  // Holding the input keeps its storage from being reused by a later step's feature.
  if (!last_input_.defined() || !last_input_.is_same(x) || !is_training()) {
    last_output_ = compute(x);
    last_input_ = x;
  }
  return last_output_;
}

// A = softmax over keys of (q / sqrt(C/2))^T k; g[:, i] = sum_j A_ij v[:, j];
// out = ReLU(BN(conv(concat[x, ReLU(BN(conv(g)))]))).
at::Tensor GcnImpl::compute(const at::Tensor& x) {
  const std::int64_t inner = x.size(1) / 2;
  const at::Tensor q = node_q->forward(x).flatten(2) / std::sqrt(static_cast<double>(inner));  // B x C/2 x N
  const at::Tensor k = node_k->forward(x).flatten(2);
  const at::Tensor v = node_v->forward(x).flatten(2);
  const at::Tensor attention = torch::softmax(torch::bmm(q.transpose(1, 2), k), 2);  // B x N x N
  const at::Tensor g = torch::bmm(v, attention.transpose(1, 2)).view({x.size(0), inner, x.size(2), x.size(3)});
  return out_conv->forward(torch::cat({x, conv1->forward(g)}, 1));
}

Gcn shared_gcn(torch::nn::Module& distiller, const DistillerContext& context) {
  const std::string key = "cirkd_gcn:" + context.student().name;
  auto gcn = context.shared->get_or_create<GcnImpl>(key, [&] { return std::make_shared<GcnImpl>(context.student().channels); });
  return Gcn(distiller.register_module("gcn", gcn));
}

}  // namespace segdistill::cirkd
