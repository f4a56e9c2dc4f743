#include "adam_buffers.hpp"

#include <cmath>

namespace segdistill::cirkd {

AdamBuffersImpl::AdamBuffersImpl(const std::vector<at::Tensor>& parameters) : parameters_(parameters) {
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    exp_avg_.push_back(register_buffer("exp_avg_" + std::to_string(i), torch::zeros_like(parameters_[i])));
    exp_avg_sq_.push_back(register_buffer("exp_avg_sq_" + std::to_string(i), torch::zeros_like(parameters_[i])));
  }
  // One count for all: the parameters step together (each has a gradient every step).
  steps_ = register_buffer("steps", torch::zeros({}, torch::kLong));
}

void AdamBuffersImpl::step(const AdamSettings& s) {
  torch::NoGradGuard no_grad;
  steps_.add_(1);
  const double t = static_cast<double>(steps_.item<std::int64_t>());
  const double step_size = s.lr / (1 - std::pow(s.beta1, t));
  const double correction2_sqrt = std::sqrt(1 - std::pow(s.beta2, t));
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const at::Tensor& grad = parameters_[i].grad();
    if (!grad.defined()) continue;
    // Module::to() and state loading keep these tensors' identity (set_data, copy_).
    at::Tensor& m = exp_avg_[i];
    at::Tensor& v = exp_avg_sq_[i];
    m.mul_(s.beta1).add_(grad, 1 - s.beta1);
    v.mul_(s.beta2).addcmul_(grad, grad, 1 - s.beta2);
    parameters_[i].addcdiv_(m, v.sqrt().div(correction2_sqrt).add(s.eps), -step_size);
  }
}

}  // namespace segdistill::cirkd
