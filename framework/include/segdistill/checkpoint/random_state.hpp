#pragma once
// The global CPU generator, which initial weights, dropout and the engine's draws all use:
// its state as checkpoints store it ("rng/cpu"), and a guard for code that must draw
// without moving the training's random stream.
#include <cstdint>
#include <string>

#include <ATen/ATen.h>

#include "segdistill/core/api.hpp"

namespace segdistill {

// A copy of the generator's state (a byte vector).
SEGDISTILL_API at::Tensor cpu_random_state();
// How many bytes a state has on this LibTorch.
SEGDISTILL_API std::int64_t cpu_random_state_size();
// Sets the generator's state; an Error naming `source` when the bytes are not a CPU
// generator state.
SEGDISTILL_API void set_cpu_random_state(const at::Tensor& state, const std::string& source);

// Puts the generator's state back as it was when the guard was made: a second network
// built inside it (an EMA copy, say) leaves the student's training bit for bit unchanged.
class SEGDISTILL_API RandomStateGuard {
 public:
  RandomStateGuard();
  ~RandomStateGuard();
  RandomStateGuard(const RandomStateGuard&) = delete;
  RandomStateGuard& operator=(const RandomStateGuard&) = delete;

 private:
  at::Tensor saved_;
};

}  // namespace segdistill
