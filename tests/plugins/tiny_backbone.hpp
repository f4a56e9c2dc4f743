#pragma once
// A small real backbone for tests of the plugin machinery: one strided convolution.
#include <torch/torch.h>

#include "segdistill/config/schema.hpp"
#include "segdistill/modeling/backbone.hpp"

namespace segdistill_test {

struct TinyBackboneOptions {
  std::int64_t channels;
  std::int64_t stride;
  bool frozen_bn;
  static void declare(segdistill::Schema<TinyBackboneOptions>& s) {
    s.field("channels", &TinyBackboneOptions::channels, "output channels").default_value(8).range(1, 512);
    s.field("stride", &TinyBackboneOptions::stride, "output stride").default_value(4).one_of({2, 4, 8});
    s.field("frozen_bn", &TinyBackboneOptions::frozen_bn, "keep BatchNorm statistics fixed").default_value(false);
  }
};

class TinyBackbone : public segdistill::Backbone {
 public:
  explicit TinyBackbone(const TinyBackboneOptions& options)
      : options_(options),
        conv_(register_module(
            "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, options.channels, 3).stride(options.stride).padding(1)))) {}
  segdistill::FeatureMap forward(const at::Tensor& images) override { return {{"out", conv_->forward(images)}}; }
  std::vector<segdistill::FeatureSpec> output_specs() const override { return {{"out", options_.channels, options_.stride}}; }

 private:
  TinyBackboneOptions options_;
  torch::nn::Conv2d conv_;
};

}  // namespace segdistill_test
