#pragma once
#include <cstdint>
#include <vector>

#include <torch/nn/module.h>

#include "segdistill/core/api.hpp"
#include "segdistill/modeling/feature.hpp"

namespace segdistill {

// What a head is built for: the backbone it sits on and the classes it predicts.
struct HeadContext {
  std::vector<FeatureSpec> backbone_outputs;
  std::int64_t num_classes = 0;
};

// Turns backbone features into class logits. Registered in heads().
class SEGDISTILL_API Head : public torch::nn::Module {
 public:
  // Logits at the head's own resolution. Intermediate features a distiller may use are
  // added to `exposed`, keyed by their name within the head ("aspp", "decoder").
  virtual at::Tensor forward(const FeatureMap& backbone_features, FeatureMap& exposed) = 0;
  // The names, channels and strides of the features forward() exposes.
  virtual std::vector<FeatureSpec> exposed_specs() const = 0;
};

}  // namespace segdistill
