#include "mix_transformer.hpp"

#include <cmath>

namespace segdistill::backbones_plugin {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

nn::LayerNorm mit_layer_norm(std::int64_t dim, double eps) {
  return nn::LayerNorm(nn::LayerNormOptions(std::vector<std::int64_t>{dim}).eps(eps));
}

// B x N x C tokens <-> B x C x H x W maps.
torch::Tensor to_map(const torch::Tensor& tokens, std::int64_t h, std::int64_t w) {
  return tokens.transpose(1, 2).reshape({tokens.size(0), tokens.size(2), h, w});
}
torch::Tensor to_tokens(const torch::Tensor& map) { return map.flatten(2).transpose(1, 2); }

// x with whole samples dropped (probability p) and the rest scaled by 1 / (1 - p) in
// training: the toolbox's DropPath.
torch::Tensor drop_path(const torch::Tensor& x, double p, bool training) {
  if (!training || p <= 0) return x;
  const torch::Tensor keep = torch::bernoulli(torch::full({x.size(0), 1, 1}, 1.0 - p, x.options()));
  return x * keep / (1.0 - p);
}

// The SegFormer initialisation: trunc-normal(0.02) linear weights, zero biases; LayerNorm
// 1, 0; convolutions N(0, sqrt(2 / fan_out)), zero biases.
void init_linear(nn::Linear& linear) {
  torch::NoGradGuard no_grad;
  // timm's trunc_normal_(std = 0.02) truncates at +-2, 100 standard deviations out: a clamp
  // of the normal draw is the same distribution.
  linear->weight.normal_(0.0, 0.02).clamp_(-2.0, 2.0);
  linear->bias.zero_();
}
void init_conv(nn::Conv2d& conv) {
  const auto& o = conv->options;
  const double fan_out = static_cast<double>((*o.kernel_size())[0] * (*o.kernel_size())[1] * o.out_channels() / o.groups());
  nn::init::normal_(conv->weight, 0.0, std::sqrt(2.0 / fan_out));
  if (conv->bias.defined()) nn::init::zeros_(conv->bias);
}

}  // namespace

OverlapPatchEmbed::OverlapPatchEmbed(std::int64_t in, std::int64_t dim, std::int64_t kernel, std::int64_t stride) {
  proj = register_module("proj", nn::Conv2d(nn::Conv2dOptions(in, dim, kernel).stride(stride).padding(kernel / 2)));
  norm = register_module("norm", mit_layer_norm(dim, 1e-5));
  init_conv(proj);
}

torch::Tensor OverlapPatchEmbed::forward(const torch::Tensor& x) {
  const torch::Tensor map = proj(x);
  return to_map(norm(to_tokens(map)), map.size(2), map.size(3));
}

EfficientAttention::EfficientAttention(std::int64_t dim, std::int64_t heads, std::int64_t reduction)
    : heads_(heads), reduction_(reduction) {
  q = register_module("q", nn::Linear(dim, dim));
  kv = register_module("kv", nn::Linear(dim, 2 * dim));
  proj = register_module("proj", nn::Linear(dim, dim));
  init_linear(q);
  init_linear(kv);
  init_linear(proj);
  if (reduction > 1) {
    sr = register_module("sr", nn::Conv2d(nn::Conv2dOptions(dim, dim, reduction).stride(reduction)));
    norm = register_module("norm", mit_layer_norm(dim, 1e-5));
    init_conv(sr);
  }
}

torch::Tensor EfficientAttention::forward(const torch::Tensor& tokens, std::int64_t h, std::int64_t w) {
  const std::int64_t b = tokens.size(0), n = tokens.size(1), c = tokens.size(2), hd = c / heads_;
  const torch::Tensor query = q(tokens).view({b, n, heads_, hd}).transpose(1, 2);
  // Keys and values from a map reduced by `reduction` in each direction.
  const torch::Tensor source = reduction_ > 1 ? norm(to_tokens(sr(to_map(tokens, h, w)))) : tokens;
  const torch::Tensor pair = kv(source).view({b, source.size(1), 2, heads_, hd}).permute({2, 0, 3, 1, 4});
  const torch::Tensor scores = torch::matmul(query, pair[0].transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(hd)));
  return proj(torch::matmul(torch::softmax(scores, -1), pair[1]).transpose(1, 2).reshape({b, n, c}));
}

MixFfn::MixFfn(std::int64_t dim, std::int64_t hidden) {
  fc1 = register_module("fc1", nn::Linear(dim, hidden));
  dwconv_ = register_module("dwconv", std::make_shared<nn::Module>())
                ->register_module("dwconv", nn::Conv2d(nn::Conv2dOptions(hidden, hidden, 3).padding(1).groups(hidden)));
  fc2 = register_module("fc2", nn::Linear(hidden, dim));
  init_linear(fc1);
  init_linear(fc2);
  init_conv(dwconv_);
}

torch::Tensor MixFfn::forward(const torch::Tensor& tokens, std::int64_t h, std::int64_t w) {
  return fc2(torch::gelu(to_tokens(dwconv_(to_map(fc1(tokens), h, w)))));
}

MixBlock::MixBlock(std::int64_t dim, std::int64_t heads, std::int64_t reduction, double drop_path) : drop_path_(drop_path) {
  norm1 = register_module("norm1", mit_layer_norm(dim, 1e-6));
  attn = register_module("attn", std::make_shared<EfficientAttention>(dim, heads, reduction));
  norm2 = register_module("norm2", mit_layer_norm(dim, 1e-6));
  mlp = register_module("mlp", std::make_shared<MixFfn>(dim, 4 * dim));
}

torch::Tensor MixBlock::forward(const torch::Tensor& tokens, std::int64_t h, std::int64_t w) {
  torch::Tensor x = tokens + drop_path(attn->forward(norm1(tokens), h, w), drop_path_, is_training());
  return x + drop_path(mlp->forward(norm2(x), h, w), drop_path_, is_training());
}

MixTransformer::MixTransformer(const MixTransformerLayout& layout, const MixTransformerOptions& options) {
  std::int64_t total = 0;
  for (auto d : layout.depths) total += d;
  std::int64_t in = 3, index = 0, stride = 1;
  for (std::size_t s = 0; s < 4; ++s) {
    const std::string n = std::to_string(s + 1);
    const std::int64_t kernel = s == 0 ? 7 : 3, step = s == 0 ? 4 : 2;
    embeds_[s] = register_module("patch_embed" + n, std::make_shared<OverlapPatchEmbed>(in, layout.dims[s], kernel, step));
    auto stage = register_module("block" + n, std::make_shared<nn::Module>());
    for (std::int64_t i = 0; i < layout.depths[s]; ++i, ++index) {
      const double rate = total > 1 ? options.drop_path * static_cast<double>(index) / static_cast<double>(total - 1) : 0.0;
      blocks_[s].push_back(stage->register_module(
          std::to_string(i), std::make_shared<MixBlock>(layout.dims[s], layout.heads[s], layout.reductions[s], rate)));
    }
    norms_[s] = register_module("norm" + n, mit_layer_norm(layout.dims[s], 1e-6));
    stride *= step;
    in = layout.dims[s];
    specs_.push_back({"layer" + n, layout.dims[s], stride});
  }
  specs_.push_back({"out", layout.dims[3], stride});
}

FeatureMap MixTransformer::forward(const at::Tensor& images) {
  FeatureMap features;
  torch::Tensor x = images;
  for (std::size_t s = 0; s < 4; ++s) {
    const torch::Tensor map = embeds_[s]->forward(x);
    const std::int64_t h = map.size(2), w = map.size(3);
    torch::Tensor tokens = to_tokens(map);
    for (auto& block : blocks_[s]) tokens = block->forward(tokens, h, w);
    x = to_map(norms_[s](tokens), h, w).contiguous();
    features["layer" + std::to_string(s + 1)] = x;
  }
  features["out"] = x;
  return features;
}

}  // namespace segdistill::backbones_plugin
