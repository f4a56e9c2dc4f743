#include "segdistill/checkpoint/random_state.hpp"

#include <mutex>

#include <ATen/CPUGeneratorImpl.h>

#include "segdistill/core/error.hpp"

namespace segdistill {

namespace {

void write_state(const at::Tensor& state) {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

}  // namespace

at::Tensor cpu_random_state() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

std::int64_t cpu_random_state_size() {
  static const std::int64_t size = cpu_random_state().numel();
  return size;
}

void set_cpu_random_state(const at::Tensor& state, const std::string& source) {
  if (state.scalar_type() != at::kByte || state.dim() != 1 || state.numel() != cpu_random_state_size())
    throw Error(source + " has " + std::to_string(state.numel()) + " " + std::string(c10::toString(state.scalar_type())) +
                " values, which is not a CPU generator state (" + std::to_string(cpu_random_state_size()) +
                " bytes; corrupt checkpoint?)");
  try {
    write_state(state);
  } catch (const c10::Error&) {
    throw Error(source + " is not a CPU generator state LibTorch accepts (corrupt checkpoint?)");
  }
}

RandomStateGuard::RandomStateGuard() : saved_(cpu_random_state()) {}

RandomStateGuard::~RandomStateGuard() { write_state(saved_); }  // the generator's own state: never refused

}  // namespace segdistill
