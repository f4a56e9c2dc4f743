#include "sagan_discriminator.hpp"

namespace segdistill::cirkd {

namespace {

at::Tensor unit_vector(const at::Tensor& v) { return v / (v.norm() + 1e-12); }

// Holds the tensors under the toolbox's names ("l1.0.module.weight_bar"): its
// SpectralNorm wraps the convolution as `module`.
class SpectralWrapperImpl : public torch::nn::Module {
 public:
  SpectralWrapperImpl(std::int64_t in, std::int64_t out) : conv(register_module("module", SpectralConv(in, out, 2, 1))) {}
  at::Tensor forward(const at::Tensor& x) { return conv->forward(x); }
  SpectralConv conv;
};
TORCH_MODULE(SpectralWrapper);

torch::nn::Sequential spectral_layer(std::int64_t in, std::int64_t out) {
  return torch::nn::Sequential(SpectralWrapper(in, out), torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.1)));
}

}  // namespace

SpectralConvImpl::SpectralConvImpl(std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t padding)
    : stride_(stride), padding_(padding) {
  // PyTorch's own initialisation of a 4 x 4 convolution with bias, which the toolbox keeps.
  torch::nn::Conv2d init(torch::nn::Conv2dOptions(in, out, 4));
  weight_bar = register_parameter("weight_bar", init->weight.detach().clone());
  bias = register_parameter("bias", init->bias.detach().clone());
  weight_u = register_buffer("weight_u", unit_vector(torch::randn({out})));
  weight_v = register_buffer("weight_v", unit_vector(torch::randn({in * 16})));
}

at::Tensor SpectralConvImpl::forward(const at::Tensor& x) {
  {
    // set_data, as the toolbox's `.data =`: no version bump, so a backward through an
    // earlier forward of this step reads the newest vectors, as the toolbox's does.
    torch::NoGradGuard no_grad;
    const at::Tensor w = weight_bar.detach().flatten(1);
    weight_v.set_data(unit_vector(torch::mv(w.t(), weight_u)));
    weight_u.set_data(unit_vector(torch::mv(w, weight_v)));
  }
  const at::Tensor sigma = torch::dot(weight_u, torch::mv(weight_bar.flatten(1), weight_v));
  return torch::conv2d(x, weight_bar / sigma, bias, stride_, padding_);
}

SelfAttentionImpl::SelfAttentionImpl(std::int64_t channels)
    : query_conv(register_module("query_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels / 8, 1)))),
      key_conv(register_module("key_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels / 8, 1)))),
      value_conv(register_module("value_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 1)))),
      gamma(register_parameter("gamma", torch::zeros({1}))) {}

at::Tensor SelfAttentionImpl::forward(const at::Tensor& x) {
  const at::Tensor q = query_conv->forward(x).flatten(2);  // B x C/8 x N
  const at::Tensor k = key_conv->forward(x).flatten(2);
  const at::Tensor v = value_conv->forward(x).flatten(2);                            // B x C x N
  const at::Tensor attention = torch::softmax(torch::bmm(q.transpose(1, 2), k), 2);  // B x N(query) x N(key)
  return gamma * torch::bmm(v, attention.transpose(1, 2)).view_as(x) + x;
}

DiscriminatorImpl::DiscriminatorImpl(std::int64_t classes)
    : preprocess_additional(register_module("preprocess_additional", BatchNorm2d(classes))),
      l1(register_module("l1", spectral_layer(classes, 64))),
      l2(register_module("l2", spectral_layer(64, 128))),
      l3(register_module("l3", spectral_layer(128, 256))),
      l4(register_module("l4", spectral_layer(256, 512))),
      last(register_module("last", torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(512, 1, 4))))),
      attn1(register_module("attn1", SelfAttention(256))),
      attn2(register_module("attn2", SelfAttention(512))) {}

at::Tensor DiscriminatorImpl::forward(const at::Tensor& scores) {
  at::Tensor x = preprocess_additional->forward(scores);
  x = l3->forward(l2->forward(l1->forward(x)));
  x = attn1->forward(x);
  x = attn2->forward(l4->forward(x));
  return last->forward(x);
}

}  // namespace segdistill::cirkd
