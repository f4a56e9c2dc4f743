#include "segdistill/core/threads.hpp"

#include <dlfcn.h>

#include <algorithm>

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include "core/large_block_cache.hpp"

namespace segdistill {

void configure_cpu_math(int threads) {
  at::globalContext().setFlushDenormal(true);
  // Looked up at run time: LibTorch builds on MKL have no OpenBLAS.
  using SetThreads = void (*)(int);
  if (auto set_blas_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set_blas_threads(1);
  at::set_num_threads(std::max(1, threads));
  install_large_block_cache();
}

}  // namespace segdistill
