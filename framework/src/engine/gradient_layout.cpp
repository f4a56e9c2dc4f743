#include "engine/gradient_layout.hpp"

#include <torch/torch.h>

namespace segdistill {

namespace {

class GradientInLayout : public torch::autograd::Function<GradientInLayout> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    ctx->saved_data["channels_last"] = x.suggest_memory_format() == at::MemoryFormat::ChannelsLast;
    return x.view_as(x);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const bool channels_last = ctx->saved_data["channels_last"].toBool();
    return {grads[0].contiguous(channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous)};
  }
};

}  // namespace

at::Tensor with_gradient_in_own_layout(const at::Tensor& x) {
  if (!x.requires_grad() || x.dim() != 4) return x;
  return GradientInLayout::apply(x);
}

}  // namespace segdistill
