#pragma once
// What a network costs: parameters and multiply-adds, per module and in total, measured
// on one forward pass at a given input size (what mmseg's get_flops and detectron2's
// analyze_model report). Multiply-adds count convolutions, linear layers and matrix
// products -- the operations that dominate -- and, like those tools by default, leave
// out normalisation, activations, pooling, interpolation and element-wise arithmetic.
#include <cstdint>
#include <string>
#include <vector>

#include "segdistill/core/api.hpp"
#include "segdistill/modeling/segmentor.hpp"

namespace segdistill {

struct ModuleCost {
  std::string name;  // dotted module path ("backbone.layer1"); "" for the whole network
  int depth = 0;     // number of dots + 1; 0 for the whole network
  std::int64_t parameters = 0;
  std::int64_t multiply_adds = 0;
};

struct NetworkCost {
  std::int64_t parameters = 0;     // each shared tensor once
  std::int64_t multiply_adds = 0;  // of one image
  // Multiply-adds of matrix products that belong to no module's weight (for example an
  // attention inside a block); included in multiply_adds.
  std::int64_t unattributed_multiply_adds = 0;
  // Bytes of the outputs of every operation the forward pass calls (not of the operations
  // they call in turn, and not views or in-place results): about what a training pass
  // keeps for its backward pass, at this input size and batch 1.
  std::int64_t activation_bytes = 0;
  // The whole network first, then every module down to `max_depth`, in registration order.
  std::vector<ModuleCost> modules;
};

// Runs `network` in eval mode, without gradients, on one zero image of height x width
// on the network's device, counting as it goes. Error naming the size when the network
// cannot run at it.
SEGDISTILL_API NetworkCost measure_cost(Segmentor& network, std::int64_t height, std::int64_t width, int max_depth = 2);

}  // namespace segdistill
