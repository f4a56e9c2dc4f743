#include "model_loading.hpp"

#include "segdistill/checkpoint.hpp"
#include "segdistill/error.hpp"

namespace segdistill::cli {

std::shared_ptr<Segmentor> load_model(const Config& config, const std::string& checkpoint_path) {
  if (!config.root().contains("model")) throw Error(config.path() + ": no [model] table to build the network from");
  auto model = std::make_shared<Segmentor>(config.root().table("model"));
  const Checkpoint checkpoint = load_checkpoint(checkpoint_path);
  auto group = checkpoint.groups.find("model");
  if (group == checkpoint.groups.end()) throw Error(checkpoint_path + ": the checkpoint holds no model weights");
  load_state_dict(*model, group->second, checkpoint_path);
  return model;
}

}  // namespace segdistill::cli
