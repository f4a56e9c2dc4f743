#pragma once
#include <torch/torch.h>

#include "segdistill/modeling/batch_norm.hpp"

namespace segdistill::backbones_plugin {

// Puts every BatchNorm of `module` in eval mode and stops its affine parameters from
// training: what `frozen_bn = true` means, applied after each train() switch.
inline void freeze_batch_norms(torch::nn::Module& module) {
  for (const auto& child : module.modules(/*include_self=*/false)) {
    if (auto* bn = child->as<segdistill::BatchNorm2d>()) {
      bn->eval();
      if (bn->weight.defined()) bn->weight.set_requires_grad(false);
      if (bn->bias.defined()) bn->bias.set_requires_grad(false);
    }
  }
}

}  // namespace segdistill::backbones_plugin
