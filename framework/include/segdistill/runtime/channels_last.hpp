#pragma once
// Channels-last (NHWC) networks: LibTorch's oneDNN and cuDNN convolutions run faster on
// them, but LibTorch 1.13's CPU kernels train some convolutions wrongly in that layout.
// The rules below say which, from measurements (tools/bench/channels_last/README.md).
#include <string>

#include <c10/core/Device.h>

#include "segdistill/core/api.hpp"
#include "segdistill/runtime/precision.hpp"

namespace torch::nn {
class Module;
}

namespace segdistill {

// Stores every 4-D parameter and buffer of `module` channels-last. Values are unchanged.
SEGDISTILL_API void use_channels_last(torch::nn::Module& module);

// True when `module`'s first 4-D parameter is stored channels-last.
SEGDISTILL_API bool uses_channels_last(torch::nn::Module& module);

// Why `module` must train NCHW on `device` in `precision`: names the first convolution that
// would reach a CPU kernel known to fail in channels-last training, and how; empty when
// channels-last training is safe. The two known failures (LibTorch 1.13, oneDNN 2.6):
//  - a 1 x 1 convolution of stride > 1 whose input channels are not a multiple of 16:
//    oneDNN's jit_1x1 backward-data kernel writes past the gradient it fills (heap
//    corruption: SIGSEGV, SIGABRT or a hang) at 2-15 input channels under AVX-512 and
//    2-7 under AVX2 (a ResNet downsample at width <= 0.125);
//  - a grouped (depthwise) convolution in bf16: its weights' gradients come out wrong
//    (MobileNetV2's running variances turn Inf within a few steps at 513 x 513).
// Forward passes (evaluation, the inference-only teacher) are not affected.
SEGDISTILL_API std::string channels_last_training_hazard(torch::nn::Module& module, Precision precision, c10::Device device);

}  // namespace segdistill
