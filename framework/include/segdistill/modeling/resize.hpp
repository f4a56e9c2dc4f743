#pragma once
// Bilinear resizing (align_corners = true, as the published networks resize) that keeps
// one memory format both ways. LibTorch 1.13's CPU kernels for it are fast only on
// contiguous tensors, and the gradients that reach a resize are often slices of a
// concatenation's gradient, contiguous in neither format: in bfloat16 such a backward
// takes about 10x longer (115 ms against 11 ms for a 4 x 256 x 33 x 33 -> 129 x 129 resize
// on 2 cores). Here the result is contiguous in the requested format, and the kernels
// get contiguous tensors both ways: in that format, or channels-last for bf16 on the CPU,
// whose NCHW kernels are as slow.
#include <cstdint>

#include <ATen/core/Tensor.h>

#include "segdistill/core/api.hpp"

namespace segdistill {

// x (N x C x H x W) resized to height x width, the result contiguous in `format`. (For a
// distiller's features of different strides, distill/feature_resize.hpp's resize_like.)
SEGDISTILL_API at::Tensor resize_bilinear(const at::Tensor& x, std::int64_t height, std::int64_t width, at::MemoryFormat format);

}  // namespace segdistill
