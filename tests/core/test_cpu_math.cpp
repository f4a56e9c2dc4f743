// configure_cpu_math: what the process's CPU math is set up to do.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>

#include <mutex>
#include <set>
#include <thread>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "segdistill/core/threads.hpp"

namespace {

// Resident memory of this process, in bytes.
long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

long minor_page_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

}  // namespace

// at::parallel_for is compiled into the caller; without the OpenMP flags it would run
// every range on the calling thread (the TaT plugin's products did, unnoticed).
TEST(CpuMath, ParallelForInOurCodeUsesTheIntraOpThreads) {
  segdistill::configure_cpu_math(2);
  std::mutex mutex;
  std::set<std::thread::id> threads;
  at::parallel_for(0, 64, 1, [&](std::int64_t, std::int64_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const std::lock_guard<std::mutex> lock(mutex);
    threads.insert(std::this_thread::get_id());
  });
  EXPECT_EQ(threads.size(), 2u);
}

// Tensors of one large size, freed and allocated again step after step, reuse one
// block and its pages: glibc alone would fault 16384 fresh pages in each time (or, with
// its mmap threshold raised, leave every block behind as a gap).
TEST(CpuMath, LargeTensorsReuseTheirBlocksAndPages) {
  segdistill::configure_cpu_math(1);
  const std::int64_t floats = 16 * 1024 * 1024;  // 64 MiB
  const void* first = nullptr;
  {
    const at::Tensor warm = torch::ones({floats});
    first = warm.data_ptr();
  }
  const long before = minor_page_faults();
  for (int step = 0; step < 5; ++step) {
    const at::Tensor again = torch::ones({floats});
    EXPECT_EQ(again.data_ptr(), first) << "step " << step;
    EXPECT_EQ(again.sum().item<double>(), static_cast<double>(floats));
  }
  EXPECT_LT(minor_page_faults() - before, 1000) << "a 64 MiB tensor is 16384 pages of 4 KiB";
  // Two live tensors of that size cannot share the block; small ones never use it.
  const at::Tensor a = torch::zeros({floats}), b = torch::zeros({floats}), small = torch::zeros({1024});
  EXPECT_NE(a.data_ptr(), b.data_ptr());
  EXPECT_NE(small.data_ptr(), first);
}

// A held block larger than a request serves it (up to twice its size) instead of a new
// mapping: the pages are already the process's.
TEST(CpuMath, AHeldLargerBlockServesASmallerTensor) {
  segdistill::configure_cpu_math(1);
  const void* larger = nullptr;
  {
    const at::Tensor held = torch::ones({25 * 1024 * 1024});  // 100 MiB
    larger = held.data_ptr();
  }
  const at::Tensor smaller = torch::ones({18 * 1024 * 1024});  // 72 MiB
  EXPECT_EQ(smaller.data_ptr(), larger);
  EXPECT_EQ(smaller.sum().item<double>(), 18.0 * 1024 * 1024);
}

// The cache never holds free blocks beyond the highest total of live blocks so far: a
// request no held block fits unmaps held ones first (ctest runs each test in a process of
// its own, so the earlier tests' blocks are not there). Keeping every size for its next
// request had made MobileNetV2's training step hold a third more memory at its peak.
TEST(CpuMath, HeldBlocksAreGivenBackBeforeTheProcessGrowsPastItsPeak) {
  segdistill::configure_cpu_math(1);
  { const at::Tensor first = torch::ones({16 * 1024 * 1024}); }  // 64 MiB, then held
  const long before = resident_bytes();
  const at::Tensor larger = torch::ones({48 * 1024 * 1024});  // 192 MiB: the 64 MiB block does not fit
  const long grown = resident_bytes() - before;
  EXPECT_EQ(larger.sum().item<double>(), 48.0 * 1024 * 1024);
  EXPECT_GT(grown, 100L << 20) << "the 192 MiB tensor is resident";
  EXPECT_LT(grown, 160L << 20) << "the held 64 MiB block should have been unmapped, not kept beside it";
}
