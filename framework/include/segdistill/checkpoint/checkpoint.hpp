#pragma once
// The segdistill checkpoint: named groups of tensors (the model's state dict, and for
// a training run the teacher's, the distillers', the optimizer's), the iteration, and
// text entries (the resolved config, ...). Stored with torch::pickle_save, so Python's
// torch.load reads it as a dict. Every group, the optimizer's and the random state
// included, is plain named tensors: reading a checkpoint runs nothing stored in it.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include "segdistill/core/api.hpp"

namespace segdistill {

using TensorDict = std::map<std::string, at::Tensor>;

// 2: the optimizer state as named tensors ("momentum_buffer.G.I": group G, parameter I).
// 1: the optimizer state as a TorchScript archive, which is never loaded any more
//    (loading one can run code stored in the file); such files still give their weights.
inline constexpr std::int64_t kCheckpointFormatVersion = 2;
inline constexpr std::int64_t kOldestReadableCheckpointFormat = 1;

struct Checkpoint {
  std::int64_t format_version = kCheckpointFormatVersion;
  std::int64_t iteration = 0;
  std::map<std::string, TensorDict> groups;  // "model", "teacher", "distillers", "optimizer", ...
  std::map<std::string, std::string> text;   // "config", ...
};

// Writes atomically: a temporary file next to `path`, fsync, rename. On any failure
// (disk full included) the temporary file is removed, an existing `path` is left
// untouched, and an Error names the path and the cause.
SEGDISTILL_API void save_checkpoint(const Checkpoint& checkpoint, const std::string& path);

// Reads the file with segdistill's own zip and pickle readers (no LibTorch unpickler,
// no TorchScript): every size is checked against the file, every entry's CRC-32 is
// verified. Errors name the path: missing or unreadable file, not a segdistill
// checkpoint, corrupt file, another format version, a tensor holding NaN or Inf (see
// set_allow_nonfinite_tensors). A format-1 file loads without its optimizer group.
SEGDISTILL_API Checkpoint load_checkpoint(const std::string& path);

// Loading refuses tensors holding NaN or Inf unless this was set (`--allow-nonfinite`):
// a flipped byte or a diverged run's weights would otherwise give normal-looking runs.
SEGDISTILL_API void set_allow_nonfinite_tensors(bool allow);
SEGDISTILL_API bool allow_nonfinite_tensors();
// The name of the first floating-point tensor holding NaN or Inf, if any.
SEGDISTILL_API std::optional<std::string> first_nonfinite(const TensorDict& tensors);
// Throws an Error naming `source`, the tensor and how many values are not finite,
// unless allowed.
SEGDISTILL_API void check_finite(const TensorDict& tensors, const std::string& source);

// Parameters and buffers by their dotted names.
SEGDISTILL_API TensorDict state_dict(const torch::nn::Module& module);

// What `eval`, `predict` and `init_from` read: a network's weights ("model") and the
// config that builds it (its TOML text), at `iteration`.
SEGDISTILL_API Checkpoint model_checkpoint(const torch::nn::Module& model, const std::string& config_toml,
                                           std::int64_t iteration = 0);

// A tensor's shape as messages print it: "[2, 3]".
SEGDISTILL_API std::string shape_text(const at::Tensor& tensor);

// How a set of named tensors differs from a module's parameters and buffers.
struct SEGDISTILL_API StateDictDiff {
  struct ShapeMismatch {
    std::string name, file_shape, model_shape;  // shapes as "[2, 3]"
  };
  std::vector<std::string> missing;     // the module has them, the tensors do not
  std::vector<std::string> unexpected;  // the tensors have them, the module does not
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
