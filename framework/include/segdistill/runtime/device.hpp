#pragma once
// The device a command runs on, from what the user typed: "auto" (CUDA when present),
// "cpu", "cuda" or "cuda:N". Shared by train, eval and predict so that all three accept
// and refuse the same words.
#include <string>

#include <c10/core/Device.h>

#include "segdistill/core/api.hpp"

namespace segdistill {

// Errors name `option` and the value, and say what is valid: an unknown word, CUDA on a
// LibTorch without a CUDA device, or cuda:N beyond the devices present.
SEGDISTILL_API c10::Device resolve_device(const std::string& name, const std::string& option = "--device");

}  // namespace segdistill
