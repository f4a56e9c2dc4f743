#pragma once
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "segdistill/core/api.hpp"
#include "segdistill/modeling/feature.hpp"

namespace segdistill {

// A feature extractor. Registered in backbones(); built from its options alone.
class SEGDISTILL_API Backbone : public torch::nn::Module {
 public:
  // Features keyed by their name within the backbone ("layer1", "low_level", "out", ...),
  // every one listed by output_specs().
  virtual FeatureMap forward(const at::Tensor& images) = 0;
  // The names, channel counts and strides of forward()'s outputs.
  virtual std::vector<FeatureSpec> output_specs() const = 0;
  // Key prefixes of the ImageNet classification files this backbone loads with
  // `pretrained` (modeling/pretrained.hpp) that belong to no part of it, such as the
  // classifier ("fc."): skipped and listed. Any other key must match a tensor of the
  // backbone by name and shape.
  virtual std::vector<std::string> pretrained_ignored_prefixes() const { return {}; }
};

}  // namespace segdistill
