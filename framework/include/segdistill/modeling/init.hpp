#pragma once
// Weight initialisation as the published networks do it, for backbones and heads to call
// at the end of their constructors (the published recipe depends on it: LibTorch's
// default convolution init has about 2.4x smaller weights).
#include <torch/nn/module.h>

#include "segdistill/core/api.hpp"

namespace segdistill {

// Which fan sets the spread of He initialisation.
enum class Fan {
  kIn,   // in_channels / groups * kh * kw: PyTorch's kaiming_normal_ default (ASPP, decoder, MobileNetV2)
  kOut,  // out_channels * kh * kw: the published ResNet's normal(0, sqrt(2 / n))
};

// Draws the weight of every Conv2d in `module` (itself included, each module once even
// when registered under several names) from N(0, sqrt(2 / fan)). Biases and BatchNorm
// keep their defaults (bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)); BatchNorm weight 1, bias 0).
SEGDISTILL_API void he_normal_init(torch::nn::Module& module, Fan fan);

}  // namespace segdistill
