#pragma once
// The CIRKD toolbox's MobileViT-XXS (from mmpretrain), dilated to output stride 8:
// MobileNetV2 inverted residuals (expand ratio 2, Swish) and MobileViT blocks, whose
// transformer runs over the 2 x 2 patches' four in-patch positions, each a sequence of
// (H/2)(W/2) tokens. The state dict is the toolbox's: stem, layers.<stage>.<block>,
// conv_1x1_exp (320 channels, the only output).
#include <vector>

#include <torch/torch.h>

#include "segdistill/config/schema.hpp"
#include "segdistill/modeling/backbone.hpp"
#include "segdistill/modeling/batch_norm.hpp"

namespace segdistill::backbones_plugin {

struct MobileViTOptions {
  bool frozen_bn;
  static void declare(Schema<MobileViTOptions>& s) {
    s.field("frozen_bn", &MobileViTOptions::frozen_bn, "keep BatchNorm statistics and affine parameters fixed")
        .default_value(false);
  }
};

// conv (no bias) + BN + optional Swish, the toolbox's `conv` / `bn` pair.
class VitConvBn : public torch::nn::Module {
 public:
  VitConvBn(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride, std::int64_t dilation,
            std::int64_t groups, bool swish);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  bool swish_;
  torch::nn::Conv2d conv{nullptr};
  segdistill::BatchNorm2d bn{nullptr};
};

// 1x1 expand (x2) + Swish, 3x3 depthwise (dilated) + Swish, 1x1 project; residual when the
// shape is kept. Keys conv.0, conv.1, conv.2.
class VitInvertedResidual : public torch::nn::Module {
 public:
  VitInvertedResidual(std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t dilation);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  bool residual_;
  std::vector<std::shared_ptr<VitConvBn>> convs_;
};

// Pre-norm transformer layer: x + MHA(LN(x)), then x + FFN(LN(x)); nn.MultiheadAttention's
// parameter layout (attn.attn.in_proj_weight, .in_proj_bias, .out_proj).
class VitTransformerLayer : public torch::nn::Module {
 public:
  VitTransformerLayer(std::int64_t dim, std::int64_t ffn, std::int64_t heads);
  torch::Tensor forward(const torch::Tensor& x);  // sequences x tokens x dim

 private:
  std::int64_t heads_;
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  torch::Tensor in_proj_weight_, in_proj_bias_;
  torch::nn::Linear out_proj{nullptr}, ffn_in{nullptr}, ffn_out{nullptr};
};

class MobileViTBlock : public torch::nn::Module {
 public:
  MobileViTBlock(std::int64_t channels, std::int64_t dim, std::int64_t ffn, std::int64_t layers);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::shared_ptr<VitConvBn> local_conv_, proj_, fusion_;
  torch::nn::Conv2d local_expand_{nullptr};
  std::vector<std::shared_ptr<VitTransformerLayer>> layers_;
  torch::nn::LayerNorm final_norm_{nullptr};
};

class MobileViT : public Backbone {
 public:
  explicit MobileViT(const MobileViTOptions& options);
  FeatureMap forward(const at::Tensor& images) override;
  std::vector<FeatureSpec> output_specs() const override { return {{"out", 320, 8}}; }
  void train(bool on = true) override;

 private:
  bool frozen_bn_;
  std::shared_ptr<VitConvBn> stem_, expand_;
  std::vector<std::shared_ptr<VitInvertedResidual>> residuals_;  // in order, with blocks_ after stages 2..4
  std::vector<std::shared_ptr<MobileViTBlock>> blocks_;
};

}  // namespace segdistill::backbones_plugin
