#include "segdistill/modeling/fold_batch_norm.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "segdistill/core/log.hpp"
#include "segdistill/modeling/batch_norm.hpp"
#include "segdistill/modeling/segmentor.hpp"

namespace segdistill {

namespace {

struct Folded {
  torch::nn::Conv2dImpl* conv;
  BatchNorm2dImpl* bn;
  at::Tensor weight, bias;  // the convolution's own, to put back
};

// Every output of the network on `input` (eval mode, no gradients).
FeatureMap outputs(Segmentor& network, const at::Tensor& input) {
  torch::NoGradGuard no_grad;
  SegmentorOutput out = network.forward(input);
  out.features["logits"] = out.logits;
  return out.features;
}

bool close(const FeatureMap& a, const FeatureMap& b) {
  for (const auto& [name, x] : a) {
    auto it = b.find(name);
    if (it == b.end() || !x.sizes().equals(it->second.sizes())) return false;
    const double scale = x.abs().max().item<double>() + 1e-6;
    if ((x - it->second).abs().max().item<double>() > 1e-4 * scale) return false;
  }
  return true;
}

void put_back(std::vector<Folded>& folded) {
  torch::NoGradGuard no_grad;
  for (auto& f : folded) {
    f.conv->weight.set_data(f.weight);
    if (f.bias.defined())
      f.conv->bias.set_data(f.bias);
    else
      f.conv->bias.set_data(torch::zeros_like(f.conv->bias));
    f.bn->folded = false;
  }
}

}  // namespace

std::int64_t fold_batch_norms(Segmentor& network) {
  network.eval();
  const auto parameter = network.parameters().front();
  // A generator of its own: the check must not move the global random stream, from which
  // the distillers are initialised next (their weights must not depend on teacher.mode).
  const at::Generator generator = at::detail::createCPUGenerator(0x5eed);
  const at::Tensor input = torch::randn({1, 3, 65, 65}, generator, torch::kFloat).to(parameter.device(), parameter.scalar_type());
  const FeatureMap before = outputs(network, input);

  std::vector<Folded> folded;
  torch::nn::Module* previous = nullptr;
  for (const auto& module : network.modules(/*include_self=*/false)) {
    auto* bn = dynamic_cast<BatchNorm2dImpl*>(module.get());
    auto* conv = dynamic_cast<torch::nn::Conv2dImpl*>(previous);
    previous = module.get();
    if (bn == nullptr || conv == nullptr || bn->folded || !bn->running_mean.defined() ||
        conv->options.out_channels() != bn->options.num_features())
      continue;
    torch::NoGradGuard no_grad;
    const at::Tensor scale =
        bn->running_var.add(bn->options.eps()).rsqrt() * (bn->weight.defined() ? bn->weight : torch::ones_like(bn->running_var));
    const at::Tensor shift = bn->bias.defined() ? bn->bias : torch::zeros_like(bn->running_mean);
    Folded f{conv, bn, conv->weight.detach().clone(), conv->bias.defined() ? conv->bias.detach().clone() : at::Tensor()};
    const at::Tensor bias = (f.bias.defined() ? f.bias : torch::zeros_like(scale)) - bn->running_mean;
    conv->weight.set_data(f.weight * scale.reshape({-1, 1, 1, 1}));
    if (conv->bias.defined()) {
      conv->bias.set_data(bias * scale + shift);
    } else {
      // A convolution built without bias holds an undefined "bias" parameter; the folded
      // bias is a buffer (moved with the network) that the convolution's bias shares.
      conv->bias = conv->register_buffer("folded_bias", bias * scale + shift);
    }
    bn->folded = true;
    folded.push_back(std::move(f));
  }
  if (folded.empty()) return 0;
  if (!close(before, outputs(network, input))) {
    put_back(folded);
    logger()->warn(
        "folding BatchNorm into the convolutions changed the network's output (a BatchNorm that does not "
        "directly follow its convolution?): it runs unfolded");
    return 0;
  }
  return static_cast<std::int64_t>(folded.size());
}

}  // namespace segdistill
