#pragma once
// A network's weights from whichever file a user has: a segdistill checkpoint or a
// PyTorch state dict (torch.save, possibly under 'state_dict' or 'model').
#include <string>

#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/core/api.hpp"

namespace segdistill {

struct NetworkWeights {
  TensorDict tensors;
  std::string format;  // "segdistill checkpoint" or "PyTorch <format>"
};

// The `group` ("model", "teacher") of a segdistill checkpoint, or the state dict of a
// PyTorch file. Errors name the path: unreadable, corrupt, no such group.
SEGDISTILL_API NetworkWeights read_network_weights(const std::string& path, const std::string& group = "model");

}  // namespace segdistill
