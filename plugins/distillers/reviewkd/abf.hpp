#pragma once
// ReviewKD's attention-based fusion (ABF): maps one student level to the teacher's
// channels, fusing in the previous (deeper) level's intermediate map on the way.
#include <utility>

#include <torch/torch.h>

#include "segdistill/modeling/batch_norm.hpp"

namespace segdistill::reviewkd {

class AbfImpl : public torch::nn::Module {
 public:
  // conv1 = 1x1 in -> mid + BN; att_conv (when `fuse`) = 1x1 2 mid -> 2 + sigmoid;
  // conv2 = 3x3 mid -> out + BN. State-dict names as published (conv1.0, conv1.1, ...).
  AbfImpl(std::int64_t in, std::int64_t mid, std::int64_t out, bool fuse);
  // (the level's output with `out` channels, the fused mid map handed to the next level);
  // `previous` is undefined for the first (deepest) level.
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x, const at::Tensor& previous);
  bool fuses() const { return static_cast<bool>(att_conv_); }

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, att_conv_{nullptr};
  segdistill::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
};
TORCH_MODULE(Abf);

}  // namespace segdistill::reviewkd
