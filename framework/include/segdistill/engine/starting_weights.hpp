#pragma once
// The weights a training run starts from, without training: what `segdistill
// export-checkpoint` writes when no checkpoint is given, so that another implementation
// can start from exactly the same point.
#include <map>
#include <string>

#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/config/config.hpp"
#include "segdistill/core/api.hpp"

namespace segdistill {

// Built as `train` builds them, from train.seed with the same order of random draws:
// "model" (the published initialisation, backbone.pretrained, init_from), "teacher"
// (teacher.checkpoint) and "distillers" (children "0", "1", ... as in a checkpoint's
// distillers group). A group is absent when the config has no such network. Plugins
// must be loaded.
SEGDISTILL_API std::map<std::string, TensorDict> starting_weights(const Config& config);

}  // namespace segdistill
