#include "segdistill/modeling/init.hpp"

#include <cmath>
#include <unordered_set>

#include <torch/torch.h>

namespace segdistill {

void he_normal_init(torch::nn::Module& module, Fan fan) {
  torch::NoGradGuard no_grad;
  std::unordered_set<const void*> seen;
  const auto draw = [&](torch::nn::Module& m) {
    auto* conv = m.as<torch::nn::Conv2d>();
    if (conv == nullptr || !seen.insert(conv).second) return;
    const auto& o = conv->options;
    const std::int64_t kernel = (*o.kernel_size())[0] * (*o.kernel_size())[1];
    const std::int64_t n = fan == Fan::kOut ? o.out_channels() * kernel : o.in_channels() / o.groups() * kernel;
    conv->weight.normal_(0.0, std::sqrt(2.0 / static_cast<double>(n)));
  };
  // Not modules(include_self = true): a constructor's module is not yet in a shared_ptr.
  draw(module);
  for (const auto& child : module.modules(/*include_self=*/false)) draw(*child);
}

}  // namespace segdistill
