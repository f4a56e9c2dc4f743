#include "segdistill/runtime/channels_last.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

namespace segdistill {

namespace {

// The widest vector block of oneDNN's jit kernels (AVX-512: 16 floats); a count of input
// channels that fills whole blocks at every ISA never reaches the faulty tail handling.
constexpr std::int64_t kWholeChannelBlock = 16;

std::string describe_hazard(const torch::nn::Conv2dImpl& conv, Precision precision) {
  const auto& o = conv.options;
  const std::int64_t in = o.in_channels(), groups = o.groups();
  const auto kernel = *o.kernel_size(), stride = *o.stride();
  const bool strided_pointwise = kernel[0] == 1 && kernel[1] == 1 && (stride[0] > 1 || stride[1] > 1) && groups == 1;
  if (strided_pointwise && in % kWholeChannelBlock != 0)
    return fmt::format(
        "a 1x1 convolution of stride {}x{} on {} input channels (not a multiple of {}), whose backward pass "
        "corrupts memory in LibTorch 1.13's oneDNN channels-last kernel",
        stride[0], stride[1], in, kWholeChannelBlock);
  if (groups > 1 && precision == Precision::kBf16)
    return fmt::format("a grouped convolution ({} groups), which LibTorch 1.13's oneDNN trains wrongly in bf16 channels-last",
                       groups);
  return {};
}

}  // namespace

void use_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
  for (auto& b : module.buffers())
    if (b.dim() == 4) b.set_data(b.contiguous(at::MemoryFormat::ChannelsLast));
}

bool uses_channels_last(torch::nn::Module& module) {
  for (const auto& p : module.parameters())
    if (p.dim() == 4) return !p.is_contiguous() && p.is_contiguous(at::MemoryFormat::ChannelsLast);
  return false;
}

std::string channels_last_training_hazard(torch::nn::Module& module, Precision precision, c10::Device device) {
  if (!device.is_cpu()) return {};
  for (const auto& item : module.named_modules()) {
    const auto* conv = dynamic_cast<const torch::nn::Conv2dImpl*>(item.value().get());
    if (conv == nullptr) continue;
    if (std::string why = describe_hazard(*conv, precision); !why.empty())
      return fmt::format("'{}' is {}", item.key().empty() ? std::string("the network") : item.key(), why);
  }
  return {};
}

}  // namespace segdistill
