#pragma once
// The discriminator of the toolbox's adversarial (holistic) term (its facts, 1.7): a
// SAGAN-style network on class scores, with spectrally normalised convolutions and two
// self-attention blocks. Its state-dict names are the toolbox's.
#include <torch/torch.h>

#include "segdistill/sdk.hpp"

namespace segdistill::cirkd {

// A convolution whose weight is weight_bar / sigma, sigma estimated by one power iteration
// per forward (u, v kept as buffers, unit vectors).
class SpectralConvImpl : public torch::nn::Module {
 public:
  SpectralConvImpl(std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t padding);
  at::Tensor forward(const at::Tensor& x);

  at::Tensor weight_bar, bias, weight_u, weight_v;

 private:
  std::int64_t stride_, padding_;
};
TORCH_MODULE(SpectralConv);

// out = gamma * (values weighted by softmax over keys of q^T k) + x; gamma starts at 0.
class SelfAttentionImpl : public torch::nn::Module {
 public:
  explicit SelfAttentionImpl(std::int64_t channels);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Conv2d query_conv{nullptr}, key_conv{nullptr}, value_conv{nullptr};
  at::Tensor gamma;
};
TORCH_MODULE(SelfAttention);

class DiscriminatorImpl : public torch::nn::Module {
 public:
  explicit DiscriminatorImpl(std::int64_t classes);
  // The score map of class scores B x K x H x W (H, W at least 64).
  at::Tensor forward(const at::Tensor& scores);

  BatchNorm2d preprocess_additional{nullptr};
  torch::nn::Sequential l1{nullptr}, l2{nullptr}, l3{nullptr}, l4{nullptr}, last{nullptr};
  SelfAttention attn1{nullptr}, attn2{nullptr};
};
TORCH_MODULE(Discriminator);

}  // namespace segdistill::cirkd
