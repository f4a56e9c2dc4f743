#include "core/large_block_cache.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>
#include <torch/version.h>

// LibTorch 2.3 made Allocator::allocate non-const.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define SEGDISTILL_ALLOCATE_CONST
#else
#define SEGDISTILL_ALLOCATE_CONST const
#endif

namespace segdistill {

namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kSmallest = std::size_t{8} << 20;

std::size_t physical_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) : std::size_t{8} << 30;
}

// What the cache may hold free: a quarter of the machine's memory, shared among the
// processes of a data-parallel job on this machine (LOCAL_WORLD_SIZE, as torchrun and
// `train --nproc` set it).
std::size_t held_limit() {
  std::size_t processes = 1;
  if (const char* local = std::getenv("LOCAL_WORLD_SIZE")) {
    const long n = std::strtol(local, nullptr, 10);
    if (n > 1) processes = static_cast<std::size_t>(n);
  }
  return physical_memory() / 4 / processes;
}

// A mapping of `size` bytes starting on a huge-page boundary, or nullptr.
void* map_aligned(std::size_t size) {
  void* raw = mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > start) munmap(raw, aligned - start);
  const std::uintptr_t end = start + size + kHugePage;
  if (end > aligned + size) munmap(reinterpret_cast<void*>(aligned + size), end - (aligned + size));
  void* block = reinterpret_cast<void*>(aligned);
  madvise(block, size, MADV_HUGEPAGE);  // advice only: kernels without THP ignore it
  return block;
}

class LargeBlockCache final : public c10::Allocator {
 public:
  explicit LargeBlockCache(c10::Allocator* small) : small_(small), limit_(held_limit()) {}

  c10::DataPtr allocate(std::size_t bytes) SEGDISTILL_ALLOCATE_CONST override {
    if (bytes < kSmallest) return small_->allocate(bytes);
    const std::size_t size = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    std::vector<Block> evicted;
    Block block = take(size, evicted);
    unmap(evicted);
    if (!block.start) {
      block = {map_aligned(size), size};
      if (!block.start) {  // out of memory: give back what is held free and try once more
        release_free_blocks();
        block.start = map_aligned(size);
      }
      if (!block.start) {
        const std::lock_guard<std::mutex> lock(mutex_);
        live_bytes_ -= size;
      }
      TORCH_CHECK(block.start, "out of memory: could not allocate ", bytes, " bytes for a CPU tensor");
    }
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      live_[block.start] = block.size;
    }
    return {block.start, block.start, &release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  // Required by LibTorch 2.2 and later (Allocator::clone); an ordinary member before.
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }

  // The deleter of every block this allocator hands out, raw ones included.
  static void release(void* block);

 private:
  struct Block {
    void* start = nullptr;
    std::size_t size = 0;
  };

  // The smallest free block that fits `size` without wasting more than its own size, or
  // none. On none, the free blocks that would make the process hold more than its
  // highest live total so far go into `evicted`: a cache of exact sizes alone kept blocks
  // of sizes one phase of a step uses while another phase mapped its own, and the
  // process's peak memory grew by a third (MobileNetV2's training step).
  Block take(std::size_t size, std::vector<Block>& evicted) const {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto fit = free_.lower_bound(size);
    if (fit != free_.end() && fit->first <= 2 * size) {
      const Block block{fit->second, fit->first};
      free_.erase(fit);
      held_ -= block.size;
      note_live(block.size);
      return block;
    }
    note_live(size);
    while (!free_.empty() && live_bytes_ + held_ > peak_live_) {
      auto largest = std::prev(free_.end());
      evicted.push_back({largest->second, largest->first});
      held_ -= largest->first;
      free_.erase(largest);
    }
    return {};
  }

  void note_live(std::size_t size) const {
    live_bytes_ += size;
    peak_live_ = std::max(peak_live_, live_bytes_);
  }

  void give_back(void* start) const {
    Block block{start, 0};
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      auto it = live_.find(start);
      if (it != live_.end()) {
        block.size = it->second;
        live_.erase(it);
        live_bytes_ -= block.size;
        if (held_ + block.size <= limit_) {
          free_.emplace(block.size, start);
          held_ += block.size;
          return;
        }
      }
    }
    if (block.size == 0)
      small_->raw_deleter()(start);  // one of the small allocator's, freed raw
    else
      munmap(start, block.size);
  }

  static void unmap(const std::vector<Block>& blocks) {
    for (const Block& block : blocks) munmap(block.start, block.size);
  }

  void release_free_blocks() const {
    std::vector<Block> blocks;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      for (const auto& [size, start] : free_) blocks.push_back({start, size});
      free_.clear();
      held_ = 0;
    }
    unmap(blocks);
  }

  c10::Allocator* small_;
  std::size_t limit_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<void*, std::size_t> live_;
  mutable std::multimap<std::size_t, void*> free_;  // by size, for the best fit
  mutable std::size_t held_ = 0, live_bytes_ = 0, peak_live_ = 0;
};

// Never destroyed: tensors freed during exit still come back to it.
LargeBlockCache* cache = nullptr;

void LargeBlockCache::release(void* block) { cache->give_back(block); }

}  // namespace

void install_large_block_cache() {
  static std::once_flag once;
  std::call_once(once, [] {
    cache = new LargeBlockCache(c10::GetCPUAllocator());
    c10::SetCPUAllocator(cache, /*priority=*/1);
  });
}

}  // namespace segdistill
