#include "abf.hpp"

#include <cmath>

namespace segdistill::reviewkd {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

// kaiming_uniform_(a = 1), as the published ABF: U(-sqrt(3 / fan_in), sqrt(3 / fan_in)).
void uniform_fan_in(nn::Conv2d& conv) {
  const at::Tensor& w = conv->weight;
  const double fan_in = static_cast<double>(w.size(1) * w.size(2) * w.size(3));
  const double bound = std::sqrt(3.0 / fan_in);
  torch::NoGradGuard no_grad;
  w.uniform_(-bound, bound);
}

}  // namespace

AbfImpl::AbfImpl(std::int64_t in, std::int64_t mid, std::int64_t out, bool fuse) {
  auto conv1 = register_module("conv1", nn::Sequential());
  conv1_ = nn::Conv2d(nn::Conv2dOptions(in, mid, 1).bias(false));
  bn1_ = segdistill::BatchNorm2d(mid);
  conv1->push_back("0", conv1_);
  conv1->push_back("1", bn1_);
  if (fuse) {
    // PyTorch's default initialisation, as published.
    att_conv_ = nn::Conv2d(nn::Conv2dOptions(2 * mid, 2, 1));
    auto att = register_module("att_conv", nn::Sequential());
    att->push_back("0", att_conv_);
  }
  auto conv2 = register_module("conv2", nn::Sequential());
  conv2_ = nn::Conv2d(nn::Conv2dOptions(mid, out, 3).padding(1).bias(false));
  bn2_ = segdistill::BatchNorm2d(out);
  conv2->push_back("0", conv2_);
  conv2->push_back("1", bn2_);
  uniform_fan_in(conv1_);
  uniform_fan_in(conv2_);
}

std::pair<at::Tensor, at::Tensor> AbfImpl::forward(const at::Tensor& x_in, const at::Tensor& previous) {
  at::Tensor x = bn1_(conv1_(x_in));
  if (att_conv_) {
    const at::Tensor y = F::interpolate(
        previous, F::InterpolateFuncOptions().size(std::vector<std::int64_t>{x.size(2), x.size(3)}).mode(torch::kNearest));
    const at::Tensor z = torch::sigmoid(att_conv_(torch::cat({x, y}, 1)));
    x = x * z.narrow(1, 0, 1) + y * z.narrow(1, 1, 1);
  }
  return {bn2_(conv2_(x)), x};
}

}  // namespace segdistill::reviewkd
