#pragma once
// Dropout for plugins: the behaviour of torch::nn::Dropout (in training, each element
// zeroed with probability p and the others scaled by 1 / (1 - p); the input itself in
// eval mode), with a mask computed rather than drawn. On the CPU, LibTorch draws
// a Bernoulli variable per element on one thread (about 120 ms for a 256 x 129 x 129
// feature of a batch of 4, 7% of a VOC TaT step); here one 64-bit seed is drawn from
// LibTorch's default generator per call, and each element's keep/drop comes from a
// counter-based hash of that seed and the element's logical (N, C, H, W) index: the work
// splits over threads, the result depends neither on how many nor on the memory format,
// the backward pass recomputes the mask instead of keeping it, and a run resumed from
// LibTorch's generator state draws the same masks. CUDA tensors use LibTorch's fused
// dropout.
#include <ostream>

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include "segdistill/core/api.hpp"

namespace segdistill {

// x with dropout of probability p (0 <= p <= 1) applied when `training`; x itself otherwise.
SEGDISTILL_API at::Tensor apply_dropout(const at::Tensor& x, double p, bool training);

// The module form, for a network's module tree (no parameters or buffers: it adds
// nothing to the state dict).
class SEGDISTILL_API DropoutImpl : public torch::nn::Cloneable<DropoutImpl> {
 public:
  explicit DropoutImpl(double p = 0.5);

  void reset() override {}
  at::Tensor forward(const at::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  double probability;
};
TORCH_MODULE(Dropout);

}  // namespace segdistill
