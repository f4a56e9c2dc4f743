#pragma once
#include <cstdint>
#include <random>

#include "segdistill/core/api.hpp"
#include "segdistill/data/sample.hpp"

namespace segdistill {

// What a transform is built with.
struct TransformContext {
  std::int64_t ignore_index = 255;  // label value for padding
};

// One step of a data pipeline. Registered in transforms(); a split's `pipeline` is a
// list of them applied in order. Random transforms draw only from `rng`, which the
// loader seeds from (seed, epoch, sample index): a sample is augmented the same way
// whatever the number of workers, and a resumed run sees the same augmentations.
class SEGDISTILL_API Transform {
 public:
  virtual ~Transform() = default;
  virtual void apply(Sample& sample, std::mt19937_64& rng) const = 0;
};

}  // namespace segdistill
