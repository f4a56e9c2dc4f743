#pragma once
// Mixed precision: the floating type the convolutions and matrix products of a forward
// pass run in (autocast), for train.precision and eval.precision. Weights, optimizer state
// and checkpoints stay fp32 whatever the precision.
#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "segdistill/core/api.hpp"

namespace segdistill {

enum class Precision { kFp32, kBf16, kFp16 };

// "fp32", "bf16" or "fp16"; anything else is an Error naming `key`.
SEGDISTILL_API Precision parse_precision(const std::string& text, const std::string& key);

// True when this CPU runs bf16 dot products in hardware (AVX512-BF16 or AMX-BF16) and
// oneDNN's dispatch is not capped below them (ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA):
// otherwise LibTorch emulates bf16 and a bf16 run is slower than fp32.
SEGDISTILL_API bool cpu_has_bf16();

// The precision a run on `device` gets for `requested` (config key `key`): bf16 on a CPU
// without bf16 instructions warns and runs fp32; fp16 on the CPU is an Error (LibTorch's
// CPU kernels have no fast fp16 path).
SEGDISTILL_API Precision effective_precision(Precision requested, c10::Device device, const std::string& key);

// The floating type of `precision` (kFloat for fp32).
SEGDISTILL_API c10::ScalarType precision_dtype(Precision precision);

// Autocast on `device` in `precision` while alive (nothing for fp32); the previous autocast
// state comes back when it ends.
class SEGDISTILL_API AutocastScope {
 public:
  AutocastScope(c10::Device device, Precision precision);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  c10::DeviceType device_type_ = c10::DeviceType::CPU;
  bool was_enabled_ = false;
  c10::ScalarType previous_dtype_ = c10::ScalarType::Float;
};

}  // namespace segdistill
