#pragma once
// A 1x1 convolution on features in rows: rows (... x Cin) @ weight^T (Cout x Cin) ->
// ... x Cout, forward and backward split into blocks over LibTorch's intra-op threads.
// The BLAS underneath runs single-threaded (see segdistill/core/threads.hpp), so one matrix
// product over all rows of the batch would use one core.
#include <torch/torch.h>

namespace segdistill::tat {

torch::Tensor row_linear(const torch::Tensor& rows, const torch::Tensor& weight);

}  // namespace segdistill::tat
