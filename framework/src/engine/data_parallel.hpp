#pragma once
// Keeps the replicas of a data-parallel run in step: the same initial state on every
// rank, and gradients averaged over ranks in buckets before each optimizer step.
#include <cstddef>
#include <memory>
#include <vector>

#include <torch/nn/module.h>

#include "segdistill/runtime/collectives.hpp"

namespace segdistill {

class DataParallel {
 public:
  DataParallel(std::shared_ptr<Collectives> collectives, std::vector<at::Tensor> parameters, std::size_t bucket_bytes);

  // Rank 0's parameters and buffers, copied to every rank.
  void broadcast_state(const std::vector<torch::nn::Module*>& modules);

  // Sums the gradients over ranks, bucket by bucket (one flat tensor and one collective
  // per bucket, all in flight together), and divides by the world size.
  void average_gradients();

  Collectives& collectives() { return *collectives_; }

 private:
  std::shared_ptr<Collectives> collectives_;
  std::vector<at::Tensor> parameters_;
  std::size_t bucket_bytes_;
};

}  // namespace segdistill
