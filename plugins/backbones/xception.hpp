#pragma once
// Aligned Xception of the reference DeepLabV3+ (xception.py): entry flow, 16 middle
// blocks, exit flow; depthwise-separable convolutions with fixed padding; the output
// stride set by the third entry block's stride and the dilations after it.
#include <vector>

#include <torch/torch.h>

#include "backbone_options.hpp"
#include "segdistill/modeling/backbone.hpp"
#include "segdistill/modeling/batch_norm.hpp"

namespace segdistill::backbones_plugin {

// Depthwise 3x3 (`conv1`) + BatchNorm (`bn`) + pointwise 1x1 (`pointwise`); no ReLU.
class SeparableConvImpl : public torch::nn::Module {
 public:
  SeparableConvImpl(std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t dilation);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::int64_t dilation_;
  torch::nn::Conv2d conv1_{nullptr}, pointwise_{nullptr};
  segdistill::BatchNorm2d bn_{nullptr};
};
TORCH_MODULE(SeparableConv);

struct XceptionBlockOptions {
  std::int64_t in, out, reps, stride = 1, dilation = 1;
  bool start_with_relu = true, grow_first = true, is_last = false;
};

// `rep`: (ReLU, SeparableConv, BatchNorm) triples, the leading ReLU dropped unless
// start_with_relu; `skip` + `skipbn` when the shape changes. Output = rep + skip.
class XceptionBlockImpl : public torch::nn::Module {
 public:
  explicit XceptionBlockImpl(const XceptionBlockOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  bool start_with_relu_;
  torch::nn::Sequential rep_{nullptr};
  torch::nn::Conv2d skip_{nullptr};
  segdistill::BatchNorm2d skip_bn_{nullptr};
};
TORCH_MODULE(XceptionBlock);

class Xception : public Backbone {
 public:
  explicit Xception(const XceptionOptions& options);
  FeatureMap forward(const at::Tensor& images) override;
  std::vector<FeatureSpec> output_specs() const override;
  void train(bool on = true) override;

 private:
  XceptionOptions options_;
  std::vector<FeatureSpec> specs_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  segdistill::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr}, bn4_{nullptr}, bn5_{nullptr};
  std::vector<XceptionBlock> blocks_;  // block1 .. block20
  SeparableConv conv3_{nullptr}, conv4_{nullptr}, conv5_{nullptr};
};

}  // namespace segdistill::backbones_plugin
