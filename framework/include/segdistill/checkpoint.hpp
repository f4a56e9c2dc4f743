#pragma once
// The segdistill checkpoint: named groups of tensors (the model's state dict, and for
// a training run the teacher's, the distillers', the optimizer's), the iteration, and
// text entries (the resolved config, ...). Stored with torch::pickle_save, so Python's
// torch.load reads it as a dict.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

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

// How a set of named tensors differs from a module's parameters and buffers.
struct SEGDISTILL_API StateDictDiff {
  struct ShapeMismatch {
    std::string name, file_shape, model_shape;  // shapes as "[2, 3]"
  };
  std::vector<std::string> missing;             // the module has them, the tensors do not
  std::vector<std::string> unexpected;          // the tensors have them, the module does not
  std::vector<ShapeMismatch> shape_mismatches;
  bool empty() const { return missing.empty() && unexpected.empty() && shape_mismatches.empty(); }
  std::size_t count() const { return missing.size() + unexpected.size() + shape_mismatches.size(); }
  // Up to `limit` names per list, one list per line.
  std::string report(std::size_t limit = 20) const;
};

SEGDISTILL_API StateDictDiff compare_state_dict(const torch::nn::Module& module, const TensorDict& tensors);

// Copies `tensors` into the module's parameters and buffers. Unless every name and
// shape matches, throws Error "SOURCE: checkpoint of another model: ..." naming the
// first mismatching key and how many differ; nothing is copied then.
SEGDISTILL_API void load_state_dict(torch::nn::Module& module, const TensorDict& tensors, const std::string& source);

// Copies the tensors whose name and shape match, leaves the rest of the module as it is
// and returns what did not match.
SEGDISTILL_API StateDictDiff load_matching(torch::nn::Module& module, const TensorDict& tensors);

}  // namespace segdistill
