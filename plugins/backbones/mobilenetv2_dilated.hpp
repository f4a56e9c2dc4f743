#pragma once
// The CIRKD toolbox's MobileNetV2 (base_models/mobilenetv2.py, its train_kd.py and v1
// student): the width-1.0 features without the last 1x1 convolution (320 channels), ReLU6,
// dilated to output stride 8: features 7 and 14 lose their stride, features 8..13 dilate
// by 2 and 15..17 by 4 (features 14 by 2). The state dict is the toolbox's
// (net.features.N, the inverted residuals' conv.{0,1,3,4,6,7}).
#include <vector>

#include <torch/torch.h>

#include "segdistill/config/schema.hpp"
#include "segdistill/modeling/backbone.hpp"
#include "segdistill/modeling/batch_norm.hpp"

namespace segdistill::backbones_plugin {

struct DilatedMobileNetV2Options {
  bool frozen_bn;
  static void declare(Schema<DilatedMobileNetV2Options>& s) {
    s.field("frozen_bn", &DilatedMobileNetV2Options::frozen_bn, "keep BatchNorm statistics and affine parameters fixed")
        .default_value(false);
  }
};

// [1x1 expand + BN + ReLU6] (expansion > 1), 3x3 depthwise + BN + ReLU6, 1x1 project + BN;
// residual when the stride is 1 and the width is kept.
class DilatedInvertedResidual : public torch::nn::Module {
 public:
  DilatedInvertedResidual(std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t dilation, std::int64_t expansion);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  bool residual_;
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<segdistill::BatchNorm2d> norms_;
};

class DilatedMobileNetV2 : public Backbone {
 public:
  explicit DilatedMobileNetV2(const DilatedMobileNetV2Options& options);
  FeatureMap forward(const at::Tensor& images) override;
  std::vector<FeatureSpec> output_specs() const override { return {{"out", 320, 8}}; }
  // ImageNet files in this layout: the classifier.
  std::vector<std::string> pretrained_ignored_prefixes() const override { return {"net.classifier."}; }
  void train(bool on = true) override;

 private:
  bool frozen_bn_;
  torch::nn::Conv2d stem_conv_{nullptr};
  segdistill::BatchNorm2d stem_bn_{nullptr};
  std::vector<std::shared_ptr<DilatedInvertedResidual>> blocks_;
};

}  // namespace segdistill::backbones_plugin
