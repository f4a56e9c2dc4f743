#include "engine/loss_scaler.hpp"

#include <torch/torch.h>

#include "segdistill/core/error.hpp"
#include "segdistill/core/log.hpp"

namespace segdistill {

bool LossScaler::unscale(const std::vector<at::Tensor>& parameters) {
  if (!enabled_) return true;
  at::Tensor finite;
  for (const auto& p : parameters) {
    if (!p.grad().defined()) continue;
    p.mutable_grad().mul_(1.0 / scale_);
    // One flag on the device, read once: no host sync per parameter.
    const at::Tensor all = p.grad().isfinite().all();
    finite = finite.defined() ? finite.logical_and(all) : all;
  }
  const bool ok = !finite.defined() || finite.item<bool>();
  if (ok) {
    if (++good_steps_ >= kGrowthInterval) {
      scale_ *= 2;
      good_steps_ = 0;
    }
  } else {
    ++skipped_;
    good_steps_ = 0;
    scale_ /= 2;
    logger()->debug("fp16 gradients overflowed: step skipped, loss scale now {}", scale_);
  }
  return ok;
}

TensorDict LossScaler::state_dict() const {
  TensorDict out;
  if (!enabled_) return out;
  out["scale"] = torch::tensor(scale_, torch::kDouble);
  out["good_steps"] = torch::tensor(good_steps_, torch::kLong);
  out["skipped_steps"] = torch::tensor(skipped_, torch::kLong);
  return out;
}

void LossScaler::load_state_dict(const TensorDict& state, const std::string& path) {
  if (!enabled_) return;
  auto get = [&](const char* key, at::ScalarType type) {
    auto it = state.find(key);
    if (it == state.end() || it->second.numel() != 1 || it->second.scalar_type() != type)
      throw Error(path + ": the fp16 loss scaler's '" + key +
                  "' is missing or malformed (was the run trained with train.precision = \"fp16\"?)");
    return it->second;
  };
  const double scale = get("scale", at::kDouble).item<double>();
  if (!(scale > 0) || !std::isfinite(scale)) throw Error(path + ": the fp16 loss scale is not a positive number");
  scale_ = scale;
  good_steps_ = get("good_steps", at::kLong).item<std::int64_t>();
  skipped_ = get("skipped_steps", at::kLong).item<std::int64_t>();
}

}  // namespace segdistill
