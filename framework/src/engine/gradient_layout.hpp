#pragma once
// The student features handed to distillers get their gradient back in their own memory
// format. A distiller may return an NCHW gradient for a channels-last feature (TaT's row
// layout does); added to the head's channels-last gradient it turns the sum NCHW, and
// LibTorch 1.13's BatchNorm backward on a channels-last input with an NCHW gradient is
// 20x slower (280 ms against 14 ms for a batch of 4 x 256 x 129 x 129 in bf16, 2 cores).
#include <ATen/core/Tensor.h>

namespace segdistill {

// x itself (a view of it), whose gradient is made contiguous in x's memory format.
at::Tensor with_gradient_in_own_layout(const at::Tensor& x);

}  // namespace segdistill
