#include "segdistill/checkpoint/network_weights.hpp"

#include "segdistill/checkpoint/pytorch_checkpoint.hpp"
#include "segdistill/core/check.hpp"
#include "segdistill/core/error.hpp"

namespace segdistill {

NetworkWeights read_network_weights(const std::string& path, const std::string& group) {
  try {
    const Checkpoint checkpoint = load_checkpoint(path);
    auto found = checkpoint.groups.find(group);
    require(found != checkpoint.groups.end(), "{}: the checkpoint holds no '{}' weights", path, group);
    return {found->second, "segdistill checkpoint"};
  } catch (const Error& not_ours) {
    if (std::string(not_ours.what()).find("not a segdistill checkpoint") == std::string::npos) throw;
  }
  PyTorchStateDict file = read_pytorch_state_dict(path);
  return {std::move(file.tensors), "PyTorch " + file.format};
}

}  // namespace segdistill
