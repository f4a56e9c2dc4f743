#pragma once
// What the toolbox's memories share: where a write lands, and the draws that choose what
// is remembered and what is contrasted, made reproducible (its own draws are unseeded).
#include <string>
#include <vector>

#include <torch/torch.h>

namespace segdistill::cirkd {

// A memory of random unit vectors along its last axis (N(0,1) draws, normalised: the
// toolbox's start). An allocation that fails is an Error naming `owner` (the config key
// and type), the shape, its size and the options that set it.
at::Tensor random_unit_memory(const std::vector<std::int64_t>& shape, const std::string& owner, const std::string& options);

// Writes the rows `vectors` into `bank` (rows x D) at `ptr` and returns the next pointer:
// at [ptr, ptr + n) and (ptr + n) mod rows, or at the last n rows and 0 where ptr + n
// reaches the end (the toolbox's rule).
std::int64_t write_at_pointer(at::Tensor bank, const at::Tensor& vectors, std::int64_t ptr);

// The CPU generator of draw number `draw` of stream `stream` of a run seeded `seed`: the
// same on every rank, and restored with the draw count on --resume.
at::Generator memory_generator(std::uint64_t seed, std::uint64_t draw, std::uint64_t stream);

// Streams of the memories' draws.
enum MemoryStream : std::uint64_t { kPixelsRemembered = 0, kPixelContrast = 1, kChannelsRemembered = 2, kChannelContrast = 3 };

}  // namespace segdistill::cirkd
