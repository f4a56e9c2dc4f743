#include "mobilevit.hpp"

#include <cmath>

#include "segdistill/modeling/init.hpp"

namespace segdistill::backbones_plugin {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

torch::Tensor swish(const torch::Tensor& x) { return x * torch::sigmoid(x); }

nn::LayerNorm vit_layer_norm(std::int64_t dim) {
  return nn::LayerNorm(nn::LayerNormOptions(std::vector<std::int64_t>{dim}).eps(1e-5));
}

// Stage s of MobileViT-XXS: inverted residuals (out, blocks, stride, dilation) and, from
// stage 2 on, a MobileViT block (transformer width, FFN width, layers).
struct VitStage {
  std::int64_t out, blocks, stride, dilation, dim, ffn, layers;
};
const VitStage kVitStages[] = {{16, 1, 1, 1, 0, 0, 0},
                               {24, 3, 2, 1, 0, 0, 0},
                               {48, 1, 2, 1, 64, 128, 2},
                               {64, 1, 1, 2, 80, 160, 4},
                               {80, 1, 1, 4, 96, 192, 3}};
constexpr std::int64_t kHeads = 4;

}  // namespace

VitConvBn::VitConvBn(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride, std::int64_t dilation,
                     std::int64_t groups, bool swish)
    : swish_(swish) {
  conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(in, out, kernel)
                                                .stride(stride)
                                                .padding(dilation * (kernel - 1) / 2)
                                                .dilation(dilation)
                                                .groups(groups)
                                                .bias(false)));
  bn = register_module("bn", segdistill::BatchNorm2d(out));
}

torch::Tensor VitConvBn::forward(const torch::Tensor& x) {
  torch::Tensor y = bn(conv(x));
  return swish_ ? swish(y) : y;
}

VitInvertedResidual::VitInvertedResidual(std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t dilation)
    : residual_(stride == 1 && in == out) {
  const std::int64_t mid = 2 * in;
  auto conv = register_module("conv", std::make_shared<nn::Module>());
  convs_ = {conv->register_module("0", std::make_shared<VitConvBn>(in, mid, 1, 1, 1, 1, true)),
            conv->register_module("1", std::make_shared<VitConvBn>(mid, mid, 3, stride, dilation, mid, true)),
            conv->register_module("2", std::make_shared<VitConvBn>(mid, out, 1, 1, 1, 1, false))};
}

torch::Tensor VitInvertedResidual::forward(const torch::Tensor& x) {
  torch::Tensor y = x;
  for (auto& c : convs_) y = c->forward(y);
  return residual_ ? y + x : y;
}

VitTransformerLayer::VitTransformerLayer(std::int64_t dim, std::int64_t ffn, std::int64_t heads) : heads_(heads) {
  ln1 = register_module("ln1", vit_layer_norm(dim));
  auto attn = register_module("attn", std::make_shared<nn::Module>())->register_module("attn", std::make_shared<nn::Module>());
  // nn.MultiheadAttention's initialisation: xavier-uniform in_proj, zero biases.
  in_proj_weight_ = attn->register_parameter("in_proj_weight", torch::empty({3 * dim, dim}));
  nn::init::xavier_uniform_(in_proj_weight_);
  in_proj_bias_ = attn->register_parameter("in_proj_bias", torch::zeros({3 * dim}));
  out_proj = attn->register_module("out_proj", nn::Linear(dim, dim));
  ln2 = register_module("ln2", vit_layer_norm(dim));
  auto ffn_layers =
      register_module("ffn", std::make_shared<nn::Module>())->register_module("layers", std::make_shared<nn::Module>());
  ffn_in = ffn_layers->register_module("0", std::make_shared<nn::Module>())->register_module("0", nn::Linear(dim, ffn));
  ffn_out = ffn_layers->register_module("1", nn::Linear(ffn, dim));
}

torch::Tensor VitTransformerLayer::forward(const torch::Tensor& x) {
  const std::int64_t s = x.size(0), n = x.size(1), d = x.size(2), hd = d / heads_;
  const auto qkv = F::linear(ln1(x), in_proj_weight_, in_proj_bias_).view({s, n, 3, heads_, hd}).permute({2, 0, 3, 1, 4});
  // softmax(q k^T / sqrt(head dim)) v per head, heads joined back.
  const torch::Tensor scores = torch::matmul(qkv[0] / std::sqrt(static_cast<double>(hd)), qkv[1].transpose(-2, -1));
  const torch::Tensor attended = torch::matmul(torch::softmax(scores, -1), qkv[2]).permute({0, 2, 1, 3}).reshape({s, n, d});
  torch::Tensor y = x + out_proj(attended);
  return y + ffn_out(swish(ffn_in(ln2(y))));
}

MobileViTBlock::MobileViTBlock(std::int64_t channels, std::int64_t dim, std::int64_t ffn, std::int64_t layers) {
  auto local = register_module("local_rep", std::make_shared<nn::Module>());
  local_conv_ = local->register_module("0", std::make_shared<VitConvBn>(channels, channels, 3, 1, 1, 1, true));
  local_expand_ = local->register_module("1", std::make_shared<nn::Module>())
                      ->register_module("conv", nn::Conv2d(nn::Conv2dOptions(channels, dim, 1).bias(false)));
  auto global = register_module("global_rep", std::make_shared<nn::Module>());
  for (std::int64_t i = 0; i < layers; ++i)
    layers_.push_back(global->register_module(std::to_string(i), std::make_shared<VitTransformerLayer>(dim, ffn, kHeads)));
  final_norm_ = global->register_module(std::to_string(layers), vit_layer_norm(dim));
  proj_ = register_module("conv_proj", std::make_shared<VitConvBn>(dim, channels, 1, 1, 1, 1, false));
  fusion_ = register_module("conv_fusion", std::make_shared<VitConvBn>(2 * channels, channels, 3, 1, 1, 1, true));
}

torch::Tensor MobileViTBlock::forward(const torch::Tensor& x) {
  torch::Tensor y = local_expand_(local_conv_->forward(x));
  const std::int64_t b = y.size(0), d = y.size(1), h = x.size(2), w = x.size(3);
  // 2 x 2 patches: an odd side is first resized up to even (bilinear, half-pixel), and back after.
  const std::int64_t eh = (h + 1) / 2 * 2, ew = (w + 1) / 2 * 2;
  const bool resized = eh != h || ew != w;
  const auto resize = [](const torch::Tensor& t, std::int64_t th, std::int64_t tw) {
    return F::interpolate(
        t, F::InterpolateFuncOptions().size(std::vector<std::int64_t>{th, tw}).mode(torch::kBilinear).align_corners(false));
  };
  if (resized) y = resize(y, eh, ew);
  const std::int64_t ph = eh / 2, pw = ew / 2;
  // (B, d, ph, 2, pw, 2) -> (B, 2, 2, ph, pw, d) -> (B * 4, ph * pw, d): one sequence per in-patch position.
  torch::Tensor tokens = y.view({b, d, ph, 2, pw, 2}).permute({0, 3, 5, 2, 4, 1}).reshape({b * 4, ph * pw, d});
  for (auto& layer : layers_) tokens = layer->forward(tokens);
  tokens = final_norm_(tokens);
  y = tokens.view({b, 2, 2, ph, pw, d}).permute({0, 5, 3, 1, 4, 2}).reshape({b, d, eh, ew});
  if (resized) y = resize(y, h, w);
  return fusion_->forward(torch::cat({x, proj_->forward(y)}, 1));
}

MobileViT::MobileViT(const MobileViTOptions& options) : frozen_bn_(options.frozen_bn) {
  stem_ = register_module("stem", std::make_shared<VitConvBn>(3, 16, 3, 2, 1, 1, true));
  auto stages = register_module("layers", std::make_shared<nn::Module>());
  std::int64_t in = 16;
  for (std::size_t s = 0; s < 5; ++s) {
    const VitStage& st = kVitStages[s];
    auto stage = stages->register_module(std::to_string(s), std::make_shared<nn::Module>());
    for (std::int64_t i = 0; i < st.blocks; ++i) {
      residuals_.push_back(stage->register_module(
          std::to_string(i), std::make_shared<VitInvertedResidual>(in, st.out, i == 0 ? st.stride : 1, st.dilation)));
      in = st.out;
    }
    if (st.layers > 0)
      blocks_.push_back(
          stage->register_module(std::to_string(st.blocks), std::make_shared<MobileViTBlock>(st.out, st.dim, st.ffn, st.layers)));
  }
  expand_ = register_module("conv_1x1_exp", std::make_shared<VitConvBn>(80, 320, 1, 1, 1, 1, true));
  he_normal_init(*this, Fan::kOut);
  if (frozen_bn_) freeze_batch_norms(*this);
}

FeatureMap MobileViT::forward(const at::Tensor& images) {
  torch::Tensor x = stem_->forward(images);
  // Stages 0 and 1 are residuals only (1 + 3 blocks); stages 2..4 a residual and a block each.
  std::size_t r = 0;
  for (; r < 4; ++r) x = residuals_[r]->forward(x);
  for (std::size_t b = 0; b < blocks_.size(); ++b) x = blocks_[b]->forward(residuals_[r++]->forward(x));
  return {{"out", expand_->forward(x)}};
}

void MobileViT::train(bool on) {
  Backbone::train(on);
  if (frozen_bn_) freeze_batch_norms(*this);
}

}  // namespace segdistill::backbones_plugin
