#include "model_loading.hpp"

#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/core/error.hpp"

namespace segdistill::cli {

std::shared_ptr<Segmentor> load_model(const Config& config, const std::string& checkpoint_path) {
  auto model = build_network(config, "model");
  const Checkpoint checkpoint = load_checkpoint(checkpoint_path);
  auto group = checkpoint.groups.find("model");
  if (group == checkpoint.groups.end()) throw Error(checkpoint_path + ": the checkpoint holds no model weights");
  load_state_dict(*model, group->second, checkpoint_path);
  return model;
}

}  // namespace segdistill::cli
