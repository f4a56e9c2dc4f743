#pragma once
// The segdistill checkpoint: named groups of tensors (the model's state dict, and for
// a training run the teacher's, the distillers', the optimizer's), the iteration, and
// text entries (the resolved config, ...). Stored with torch::pickle_save, so Python's
// torch.load reads it as a dict.
#include <cstdint>
#include <map>
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include "segdistill/api.hpp"

namespace segdistill {

using TensorDict = std::map<std::string, at::Tensor>;

inline constexpr std::int64_t kCheckpointFormatVersion = 1;

struct Checkpoint {
  std::int64_t format_version = kCheckpointFormatVersion;
  std::int64_t iteration = 0;
  std::map<std::string, TensorDict> groups;        // "model", "teacher", "distillers", "optimizer", ...
  std::map<std::string, std::string> text;         // "config", ...
};

// Writes atomically: a temporary file next to `path`, fsync, rename. On any failure
// (disk full included) the temporary file is removed, an existing `path` is left
// untouched, and an Error names the path and the cause.
SEGDISTILL_API void save_checkpoint(const Checkpoint& checkpoint, const std::string& path);

// Errors name the path: missing or unreadable file, not a segdistill checkpoint,
// another format version.
SEGDISTILL_API Checkpoint load_checkpoint(const std::string& path);

// Parameters and buffers by their dotted names.
SEGDISTILL_API TensorDict state_dict(const torch::nn::Module& module);

// Copies `tensors` into the module's parameters and buffers. Unless every name and
// shape matches, throws Error "SOURCE: checkpoint of another model: ..." naming the
// first mismatching key and how many differ; nothing is copied then.
SEGDISTILL_API void load_state_dict(torch::nn::Module& module, const TensorDict& tensors, const std::string& source);

}  // namespace segdistill
