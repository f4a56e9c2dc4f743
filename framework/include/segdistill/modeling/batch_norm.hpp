#pragma once
// BatchNorm2d for plugins: the behaviour, options and state-dict names of
// torch::nn::BatchNorm2d (weight, bias, running_mean, running_var,
// num_batches_tracked), and in a data-parallel run with train.sync_bn, batch statistics
// over the global batch of all ranks (SyncBatchNorm). A module of its own rather than
// a subclass: LibTorch does not export what a subclass of its BatchNorm would link to.
#include <cstdint>
#include <ostream>

#include <torch/nn/cloneable.h>
#include <torch/nn/options/batchnorm.h>
#include <torch/nn/pimpl.h>

#include "segdistill/core/api.hpp"

namespace segdistill {

class SEGDISTILL_API BatchNorm2dImpl : public torch::nn::Cloneable<BatchNorm2dImpl> {
 public:
  explicit BatchNorm2dImpl(const torch::nn::BatchNormOptions& options);
  BatchNorm2dImpl(std::int64_t num_features) : BatchNorm2dImpl(torch::nn::BatchNormOptions(num_features)) {}

  void reset() override;
  at::Tensor forward(const at::Tensor& input);
  void pretty_print(std::ostream& stream) const override;

  torch::nn::BatchNormOptions options;
  at::Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  // Folded into the convolution before it (fold_batch_norms): passes its input through.
  bool folded = false;

 private:
  at::Tensor batch_norm_in_bf16(const at::Tensor& input, bool tracking, double momentum);
};
TORCH_MODULE(BatchNorm2d);

// Puts every BatchNorm2d inside `module` in eval mode (running statistics, none updated)
// and stops its affine parameters from training: what frozen_bn means. train() switches
// modes back, so a module with frozen BatchNorm calls this after each switch.
SEGDISTILL_API void freeze_batch_norms(torch::nn::Module& module);

// Turns synchronisation on for the BatchNorm2d layers of this process while a
// distributed run with train.sync_bn lasts (current_collectives() must be set).
SEGDISTILL_API void set_batch_norm_sync(bool enabled);

}  // namespace segdistill
