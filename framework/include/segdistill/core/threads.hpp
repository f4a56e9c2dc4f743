#pragma once
#include "segdistill/core/api.hpp"

namespace segdistill {

// Sets up the CPU math of the process, once, from the main thread:
// - LibTorch's intra-op threads (`threads`, at least 1);
// - denormal floats flushed to zero: the softmax of unscaled dot products (TaT's
//   attention) produces denormals, on which x86 matrix products run ten times slower;
// - OpenBLAS (when LibTorch uses it) single-threaded: its own thread pool starts before
//   main() and never gets the flush-to-zero setting, while LibTorch's threads, started
//   later, inherit it; LibTorch parallelises batched products itself;
// - CPU tensors of 8 MiB and more allocated from a cache of freed blocks, so that each
//   step reuses the previous step's pages instead of faulting fresh ones in (the
//   resident size stays at the peak of a step; see src/large_block_cache.hpp).
SEGDISTILL_API void configure_cpu_math(int threads);

}  // namespace segdistill
