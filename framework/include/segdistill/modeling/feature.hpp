#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace segdistill {

// The shape a component promises for one of its named outputs.
struct FeatureSpec {
  std::string name;  // "layer4", "low_level", ...
  std::int64_t channels;
  std::int64_t stride;  // input size / feature size
};

// Named intermediate tensors of a forward pass ("backbone.layer4", "head.decoder", ...).
using FeatureMap = std::map<std::string, at::Tensor>;

}  // namespace segdistill
