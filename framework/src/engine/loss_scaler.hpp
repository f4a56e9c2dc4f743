#pragma once
// Dynamic loss scaling for fp16 training (train.precision = "fp16", CUDA): fp16 gradients
// of a plainly scaled loss underflow, so the loss is multiplied by a large scale before
// backward and the gradients divided by it after. A step whose gradients overflowed (Inf or
// NaN) is skipped and the scale halved; after kGrowthInterval good steps it doubles.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "segdistill/checkpoint/checkpoint.hpp"

namespace segdistill {

class LossScaler {
 public:
  static constexpr double kInitialScale = 65536.0;
  static constexpr std::int64_t kGrowthInterval = 2000;

  explicit LossScaler(bool enabled = false) : enabled_(enabled) {}
  bool enabled() const { return enabled_; }
  double scale() const { return scale_; }
  std::int64_t skipped_steps() const { return skipped_; }

  // The loss to differentiate: scaled when enabled.
  at::Tensor scaled(const at::Tensor& loss) const { return enabled_ ? loss * scale_ : loss; }

  // Divides the gradients of `parameters` by the scale; false (and the scale halved) when
  // one of them holds Inf or NaN: the optimizer step must then be skipped.
  bool unscale(const std::vector<at::Tensor>& parameters);

  // The scaler's state in checkpoints ("scale", "good_steps", "skipped_steps").
  TensorDict state_dict() const;
  void load_state_dict(const TensorDict& state, const std::string& path);

 private:
  bool enabled_;
  double scale_ = kInitialScale;
  std::int64_t good_steps_ = 0;
  std::int64_t skipped_ = 0;
};

}  // namespace segdistill
