#pragma once
// Building a config's network and loading a checkpoint into it, for eval and predict.
#include <memory>
#include <string>

#include "segdistill/config/config.hpp"
#include "segdistill/modeling/segmentor.hpp"

namespace segdistill::cli {

// The [model] network of `config` with the checkpoint's "model" weights. Errors name
// the checkpoint when it holds no model or one of another shape.
std::shared_ptr<Segmentor> load_model(const Config& config, const std::string& checkpoint);

}  // namespace segdistill::cli
