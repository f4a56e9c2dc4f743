#pragma once
// The Mix Transformer encoders (MiT-B0, MiT-B4) of the CIRKD toolbox's SegFormer:
// overlapping patch embeddings, efficient self-attention with spatial reduction, Mix-FFN
// (a depthwise 3x3 convolution between its linear layers), stochastic depth rising
// linearly to 0.1 over all blocks. Outputs layer1..layer4 at 1/4, 1/8, 1/16, 1/32. The
// state dict is the toolbox's (patch_embed1..4, block1..4, norm1..4), meant for
// model.backbone_key = "".
#include <array>
#include <vector>

#include <torch/torch.h>

#include "segdistill/config/schema.hpp"
#include "segdistill/modeling/backbone.hpp"

namespace segdistill::backbones_plugin {

struct MixTransformerOptions {
  double drop_path;
  static void declare(Schema<MixTransformerOptions>& s) {
    s.field("drop_path", &MixTransformerOptions::drop_path,
            "stochastic depth of the last block (rising linearly from 0 over all blocks; the toolbox: 0.1)")
        .default_value(0.1)
        .range(0, 1);
  }
};

struct MixTransformerLayout {
  std::array<std::int64_t, 4> dims, heads, depths, reductions;
};

class OverlapPatchEmbed : public torch::nn::Module {
 public:
  OverlapPatchEmbed(std::int64_t in, std::int64_t dim, std::int64_t kernel, std::int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);  // B x C x H x W -> B x dim x H' x W'

 private:
  torch::nn::Conv2d proj{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};

class EfficientAttention : public torch::nn::Module {
 public:
  EfficientAttention(std::int64_t dim, std::int64_t heads, std::int64_t reduction);
  torch::Tensor forward(const torch::Tensor& tokens, std::int64_t h, std::int64_t w);  // B x N x dim

 private:
  std::int64_t heads_, reduction_;
  torch::nn::Linear q{nullptr}, kv{nullptr}, proj{nullptr};
  torch::nn::Conv2d sr{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};

class MixFfn : public torch::nn::Module {
 public:
  MixFfn(std::int64_t dim, std::int64_t hidden);
  torch::Tensor forward(const torch::Tensor& tokens, std::int64_t h, std::int64_t w);

 private:
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::Conv2d dwconv_{nullptr};
};

class MixBlock : public torch::nn::Module {
 public:
  MixBlock(std::int64_t dim, std::int64_t heads, std::int64_t reduction, double drop_path);
  torch::Tensor forward(const torch::Tensor& tokens, std::int64_t h, std::int64_t w);

 private:
  double drop_path_;
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  std::shared_ptr<EfficientAttention> attn;
  std::shared_ptr<MixFfn> mlp;
};

class MixTransformer : public Backbone {
 public:
  MixTransformer(const MixTransformerLayout& layout, const MixTransformerOptions& options);
  FeatureMap forward(const at::Tensor& images) override;
  std::vector<FeatureSpec> output_specs() const override { return specs_; }
  // SegFormer's ImageNet files (mit_b0.pth, ...): the classifier.
  std::vector<std::string> pretrained_ignored_prefixes() const override { return {"head."}; }

 private:
  std::vector<FeatureSpec> specs_;
  std::array<std::shared_ptr<OverlapPatchEmbed>, 4> embeds_;
  std::array<std::vector<std::shared_ptr<MixBlock>>, 4> blocks_;
  std::array<torch::nn::LayerNorm, 4> norms_{nullptr, nullptr, nullptr, nullptr};
};

}  // namespace segdistill::backbones_plugin
