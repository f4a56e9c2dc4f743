#pragma once
// PyTorch checkpoint files as users have them, read and written without Python.
#include <string>
#include <vector>

#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/core/api.hpp"

namespace segdistill {

struct PyTorchStateDict {
  TensorDict tensors;              // names as the model sees them; floating point as float32
  std::string format;              // which torch.save format the file had
  std::string location;            // where the state dict was: "top level", "'state_dict'", "'model'"
  std::vector<std::string> notes;  // what was adapted (prefix stripped, dtypes converted, entries ignored)
};

// Reads a file written by torch.save: the zip format (PyTorch >= 1.6) or the legacy
// format (before 1.6). The state dict may be the top-level dict or sit under
// 'state_dict' or 'model' (other entries such as 'epoch' or 'optimizer' are ignored),
// as an OrderedDict or a plain dict. A 'module.' prefix (DataParallel) is stripped;
// float16/float64/bfloat16 tensors become float32 unless `keep_dtypes`. Errors name the
// file and the cause.
SEGDISTILL_API PyTorchStateDict read_pytorch_state_dict(const std::string& path, bool keep_dtypes = false);

// Writes `tensors` as a dict that Python's torch.load reads and a reference model's
// load_state_dict accepts. Atomic like save_checkpoint.
SEGDISTILL_API void write_pytorch_state_dict(const TensorDict& tensors, const std::string& path);

}  // namespace segdistill
