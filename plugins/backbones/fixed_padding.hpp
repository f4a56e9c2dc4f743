#pragma once
// The reference's "fixed padding" for 3x3 convolutions without padding of their own:
// (k_eff - 1) // 2 before, the rest after, on both axes (k_eff the dilated kernel).
#include <torch/torch.h>

namespace segdistill::backbones_plugin {

inline torch::Tensor fixed_padding(const torch::Tensor& x, std::int64_t kernel, std::int64_t dilation) {
  const std::int64_t total = kernel + (kernel - 1) * (dilation - 1) - 1;
  const std::int64_t begin = total / 2;
  const std::int64_t end = total - begin;
  return torch::nn::functional::pad(x, torch::nn::functional::PadFuncOptions({begin, end, begin, end}));
}

}  // namespace segdistill::backbones_plugin
