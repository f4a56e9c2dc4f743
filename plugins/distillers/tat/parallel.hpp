#pragma once
// at::parallel_for for the insides of autograd functions. Grad mode is thread-local and
// LibTorch's OpenMP parallel_for does not carry it to its worker threads, where it is on:
// there, an out= product of a tensor that requires grad is refused and a copy_ would be
// recorded. Each chunk here runs without autograd, as the calling thread does.
#include <ATen/Parallel.h>
#include <torch/torch.h>

namespace segdistill::tat {

template <class Chunk>
void parallel_without_grad(std::int64_t begin, std::int64_t end, std::int64_t grain, const Chunk& chunk) {
  at::parallel_for(begin, end, grain, [&](std::int64_t first, std::int64_t last) {
    const torch::NoGradGuard no_grad;
    chunk(first, last);
  });
}

}  // namespace segdistill::tat
