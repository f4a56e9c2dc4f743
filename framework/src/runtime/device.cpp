#include "segdistill/runtime/device.hpp"

#include <torch/cuda.h>

#include "segdistill/core/error.hpp"

namespace segdistill {

c10::Device resolve_device(const std::string& name, const std::string& option) {
  if (name == "auto") return torch::cuda::is_available() ? c10::Device(c10::kCUDA) : c10::Device(c10::kCPU);
  const std::string valid = "valid: auto, cpu, cuda, cuda:N";
  if (name != "cpu" && name != "cuda" && name.rfind("cuda:", 0) != 0)
    throw Error(option + ": invalid device '" + name + "'; " + valid);
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(name);
  } catch (const c10::Error&) {
    throw Error(option + ": invalid device '" + name + "'; " + valid);
  }
  if (!device.is_cuda()) return device;
  if (!torch::cuda::is_available())
    throw Error(option + " " + name + ": this LibTorch has no CUDA device available (use " + option + " cpu)");
  const auto count = static_cast<int>(torch::cuda::device_count());
  if (device.has_index() && device.index() >= count)
    throw Error(option + " " + name + ": there " +
                (count == 1 ? "is 1 CUDA device" : "are " + std::to_string(count) + " CUDA devices") +
                " (valid: cuda:0 to cuda:" + std::to_string(count - 1) + ")");
  return device;
}

}  // namespace segdistill
