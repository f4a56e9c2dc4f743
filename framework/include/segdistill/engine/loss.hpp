#pragma once
// The segmentation loss of training, registered in losses() and chosen by [train.loss]
// (cross_entropy when the table is absent). A loss is a mean over the labelled pixels of
// the global batch, possibly mapped through a function of that mean (the published focal
// loss): each rank gives the sum and the normaliser of its share, and the trainer takes
// the mean over every rank before of_mean(), so a data-parallel run trains on the same
// loss as one process with the whole batch.
#include <cstdint>
#include <string>

#include <torch/nn/module.h>

#include "segdistill/core/api.hpp"

namespace segdistill {

struct LossContext {
  std::string config_key = "train.loss";  // for messages
  std::int64_t num_classes = 0;
  std::int64_t ignore_index = 255;  // data.ignore_index
};

// One rank's part of a pixel mean: sum / normaliser is the mean over this rank's pixels.
struct PixelSum {
  at::Tensor sum;         // scalar, differentiable
  at::Tensor normaliser;  // scalar, the labelled pixels (or their class weights), no gradient
};

class SEGDISTILL_API Loss : public torch::nn::Module {
 public:
  // The key of the loss in logs and metrics.jsonl: loss_<log_name()>.
  virtual std::string log_name() const = 0;
  // logits N x K x H x W, labels N x H x W (int64, ignore_index where unlabelled).
  virtual PixelSum pixel_sum(const at::Tensor& logits, const at::Tensor& labels) = 0;
  // The loss as a function of the global pixel mean; the mean itself by default.
  virtual at::Tensor of_mean(const at::Tensor& mean) const { return mean; }
};

}  // namespace segdistill
