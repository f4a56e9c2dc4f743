#pragma once
// The CPU allocator behind LibTorch's tensors, for large blocks. glibc serves blocks
// above its mmap threshold (at most 32 MiB) with fresh mappings and unmaps them on free,
// so every large tensor of a training step, for example a 4 x 256 x 129 x 129 feature
// map (68 MB), faults its pages in anew: about 30 ms for 68 MB, the greater part of
// TaT's loss time. Raising the threshold instead keeps the pages but leaks: LibTorch's
// 64-byte-aligned allocations leave gaps that a block of the same size never fits again.
namespace segdistill {

// Installs, once per process, an allocator that keeps freed blocks of 8 MiB or more
// (sizes rounded up to 2 MiB) for later requests: a request takes the smallest held block
// that fits it (at most twice its size), and when none does, held blocks are unmapped
// until live and held blocks together are no more than the highest live total so far,
// so the cache saves page faults without raising the process's peak memory. At most a
// quarter of the machine's memory is held (divided among the local processes of a
// data-parallel job); blocks are mapped 2 MiB-aligned and advised to use transparent huge
// pages where the kernel offers them. Smaller blocks go to LibTorch's own allocator.
void install_large_block_cache();

}  // namespace segdistill
