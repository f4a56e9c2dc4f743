#pragma once
// a @ b over leading batch dimensions, with the batch spread over LibTorch's intra-op
// threads. LibTorch 1.13's CPU bmm runs one GEMM after another on the calling thread for
// matrices of this size, and the BLAS underneath is kept single-threaded (see
// segdistill/core/threads.hpp), so attention's products would use one core.
#include <torch/torch.h>

namespace segdistill::tat {

// a: ... x M x K, b: ... x K x N (same leading dimensions; any strides) -> ... x M x N.
// Differentiable: the backward products are spread the same way.
torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace segdistill::tat
