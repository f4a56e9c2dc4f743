#include "segdistill/runtime/precision.hpp"

#include <fstream>
#include <sstream>

#include <atomic>
#include <cctype>
#include <cstdlib>

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "segdistill/core/error.hpp"
#include "segdistill/core/log.hpp"

// LibTorch 2.4 replaced the per-device autocast functions by ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define SEGDISTILL_AUTOCAST_BY_DEVICE_TYPE 1
#endif

namespace segdistill {

namespace {

bool autocast_enabled(c10::DeviceType type) {
#ifdef SEGDISTILL_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::is_autocast_enabled(type);
#else
  return type == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

void set_autocast_enabled(c10::DeviceType type, bool enabled) {
#ifdef SEGDISTILL_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_enabled(type, enabled);
#else
  if (type == c10::DeviceType::CUDA)
    at::autocast::set_enabled(enabled);
  else
    at::autocast::set_cpu_enabled(enabled);
#endif
}

c10::ScalarType autocast_dtype(c10::DeviceType type) {
#ifdef SEGDISTILL_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::get_autocast_dtype(type);
#else
  return type == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

void set_autocast_dtype(c10::DeviceType type, c10::ScalarType dtype) {
#ifdef SEGDISTILL_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_dtype(type, dtype);
#else
  if (type == c10::DeviceType::CUDA)
    at::autocast::set_autocast_gpu_dtype(dtype);
  else
    at::autocast::set_autocast_cpu_dtype(dtype);
#endif
}

}  // namespace

Precision parse_precision(const std::string& text, const std::string& key) {
  if (text == "fp32") return Precision::kFp32;
  if (text == "bf16") return Precision::kBf16;
  if (text == "fp16") return Precision::kFp16;
  throw Error(key + ": unknown precision '" + text + "'; valid: fp32, bf16, fp16");
}

// False when oneDNN's dispatch is capped below its bf16 kernels (ONEDNN_MAX_CPU_ISA, or the
// older DNNL_MAX_CPU_ISA, as `tools/test.sh --cpu-kernels` sets them to emulate an older
// CPU): oneDNN then emulates bf16 as on a CPU without the instructions.
bool onednn_dispatch_allows_bf16() {
  for (const char* name : {"ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"}) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') continue;
    std::string isa(value);
    for (char& c : isa) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return isa == "ALL" || isa.find("BF16") != std::string::npos || isa.find("AMX") != std::string::npos ||
           isa.find("FP16") != std::string::npos;
  }
  return true;
}

bool cpu_has_bf16() {
  static const bool has = onednn_dispatch_allows_bf16() && [] {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
      if (line.rfind("flags", 0) != 0) continue;
      std::istringstream flags(line);
      std::string flag;
      while (flags >> flag)
        if (flag == "avx512_bf16" || flag == "amx_bf16") return true;
      return false;
    }
    return false;
  }();
  return has;
}

Precision effective_precision(Precision requested, c10::Device device, const std::string& key) {
  if (requested == Precision::kFp32 || device.is_cuda()) return requested;
  if (requested == Precision::kFp16)
    throw Error(key + " = \"fp16\" needs a CUDA device (--device cuda); on the CPU use \"bf16\" or \"fp32\"");
  if (!cpu_has_bf16()) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true))
      logger()->warn(
          "{} = \"bf16\": this CPU has no bf16 instructions (AVX512-BF16 or AMX), where bf16 is slower than "
          "fp32; running fp32",
          key);
    return Precision::kFp32;
  }
  return requested;
}

c10::ScalarType precision_dtype(Precision precision) {
  switch (precision) {
    case Precision::kBf16:
      return c10::ScalarType::BFloat16;
    case Precision::kFp16:
      return c10::ScalarType::Half;
    case Precision::kFp32:
      break;
  }
  return c10::ScalarType::Float;
}

AutocastScope::AutocastScope(c10::Device device, Precision precision) {
  if (precision == Precision::kFp32) return;
  active_ = true;
  device_type_ = device.is_cuda() ? c10::DeviceType::CUDA : c10::DeviceType::CPU;
  was_enabled_ = autocast_enabled(device_type_);
  previous_dtype_ = autocast_dtype(device_type_);
  set_autocast_enabled(device_type_, true);
  set_autocast_dtype(device_type_, precision_dtype(precision));
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // The outermost scope drops the casts of the weights it cached.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast_enabled(device_type_, was_enabled_);
  set_autocast_dtype(device_type_, previous_dtype_);
}

}  // namespace segdistill
