#include "segdistill/modeling/batch_norm.hpp"

#include <atomic>

#include <torch/torch.h>

#include "segdistill/core/error.hpp"
#include "segdistill/runtime/collectives.hpp"

namespace segdistill {

namespace {

std::atomic<bool> sync_enabled{false};

at::Tensor per_channel(const at::Tensor& t) { return t.view({1, -1, 1, 1}); }

// Per-channel sums accumulated in float64, as LibTorch's own CPU BatchNorm does: the
// gradient sums cancel almost completely, and float32 accumulation would leave errors
// of a few tenths of a percent in them.
at::Tensor channel_sums(const at::Tensor& t) { return t.sum({0, 2, 3}, /*keepdim=*/false, torch::kDouble); }

// Batch statistics over every rank's part of the batch. The two-pass variance (mean
// first, then squared deviations) keeps float32 results as close to a single process's
// as the summation order allows. Each rank's gradients come out scaled as its share of
// the global loss, so that averaging them over ranks gives the single-process gradient.
class SyncBatchNormFunction : public torch::autograd::Function<SyncBatchNormFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& bias, at::Tensor running_mean, at::Tensor running_var, double momentum,
                            double eps) {
    Collectives& collectives = *current_collectives();
    const std::int64_t channels = x.size(1);
    const auto count_options = torch::TensorOptions().dtype(torch::kDouble).device(x.device());
    at::Tensor sums = torch::cat({channel_sums(x), torch::full({1}, static_cast<double>(x.numel() / channels), count_options)});
    std::vector<at::Tensor> one{sums};
    collectives.all_reduce_sum(one);
    const at::Tensor count = sums.narrow(0, channels, 1);
    const at::Tensor mean = (sums.narrow(0, 0, channels) / count).to(x.scalar_type());
    const at::Tensor centred = x - per_channel(mean);
    at::Tensor squares = channel_sums(centred * centred);
    one = {squares};
    collectives.all_reduce_sum(one);
    const at::Tensor var = squares / count;
    const at::Tensor invstd = torch::rsqrt(var + eps).to(x.scalar_type());
    at::Tensor out = centred * per_channel(invstd);
    if (weight.defined()) out = out * per_channel(weight) + per_channel(bias);
    if (running_mean.defined()) {
      torch::NoGradGuard no_grad;
      const double n = count.item<double>();
      running_mean.mul_(1 - momentum).add_(mean, momentum);
      running_var.mul_(1 - momentum).add_((var * (n / std::max(1.0, n - 1))).to(running_var.scalar_type()), momentum);
    }
    ctx->save_for_backward({x, weight, mean, invstd, count});
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &weight = saved[1], &mean = saved[2], &invstd = saved[3], &count = saved[4];
    const at::Tensor& g = grads[0];
    const std::int64_t channels = x.size(1);
    const at::Tensor xhat = (x - per_channel(mean)) * per_channel(invstd);
    const at::Tensor sum_g = channel_sums(g), sum_gx = channel_sums(g * xhat);
    at::Tensor global = torch::cat({sum_g, sum_gx});
    std::vector<at::Tensor> one{global};
    current_collectives()->all_reduce_sum(one);
    const at::Tensor mean_g = (global.narrow(0, 0, channels) / count).to(g.scalar_type());
    const at::Tensor mean_gx = (global.narrow(0, channels, channels) / count).to(g.scalar_type());
    at::Tensor scale = weight.defined() ? invstd * weight : invstd;
    const at::Tensor dx = (g - per_channel(mean_g) - xhat * per_channel(mean_gx)) * per_channel(scale);
    return {dx,
            weight.defined() ? sum_gx.to(weight.scalar_type()) : at::Tensor(),
            weight.defined() ? sum_g.to(weight.scalar_type()) : at::Tensor(),
            at::Tensor(),
            at::Tensor(),
            at::Tensor(),
            at::Tensor()};
  }
};

}  // namespace

void set_batch_norm_sync(bool enabled) { sync_enabled = enabled; }

BatchNorm2dImpl::BatchNorm2dImpl(const torch::nn::BatchNormOptions& options_) : options(options_) { reset(); }

void BatchNorm2dImpl::reset() {
  const std::int64_t n = options.num_features();
  weight = register_parameter("weight", options.affine() ? torch::ones({n}) : at::Tensor(), options.affine());
  bias = register_parameter("bias", options.affine() ? torch::zeros({n}) : at::Tensor(), options.affine());
  running_mean = register_buffer("running_mean", options.track_running_stats() ? torch::zeros({n}) : at::Tensor());
  running_var = register_buffer("running_var", options.track_running_stats() ? torch::ones({n}) : at::Tensor());
  num_batches_tracked =
      register_buffer("num_batches_tracked", options.track_running_stats() ? torch::zeros({}, torch::kLong) : at::Tensor());
}

void BatchNorm2dImpl::pretty_print(std::ostream& stream) const {
  stream << "segdistill::BatchNorm2d(" << options.num_features() << ", eps=" << options.eps() << ", affine=" << std::boolalpha
         << options.affine() << ", track_running_stats=" << options.track_running_stats() << ")";
}

at::Tensor BatchNorm2dImpl::forward(const at::Tensor& input) {
  if (input.dim() != 4)
    throw Error("BatchNorm2d: expected a 4-D input (N x C x H x W), got " + std::to_string(input.dim()) + "-D");
  if (folded) {
    if (is_training()) throw Error("BatchNorm2d: a BatchNorm folded into its convolution cannot train");
    return input;
  }
  const auto& collectives = current_collectives();
  const bool synced = is_training() && sync_enabled && collectives && collectives->world_size() > 1;
  // Under mixed precision the statistics of a batch are taken in fp32: bf16 sums of a
  // feature map lose the digits a variance needs. LibTorch's CPU kernel for bf16 sums in
  // fp32 itself (batch_norm_in_bf16); elsewhere the input is normalised as an fp32 copy.
  const bool reduced = input.scalar_type() == at::kBFloat16 || input.scalar_type() == at::kHalf;
  const bool cpu_bf16 = input.scalar_type() == at::kBFloat16 && input.device().is_cpu();
  if (is_training() && reduced && (synced || !cpu_bf16)) return forward(input.to(at::kFloat)).to(input.scalar_type());
  const bool tracking = is_training() && options.track_running_stats();
  double momentum = options.momentum().value_or(0.0);
  if (tracking && num_batches_tracked.defined()) {
    torch::NoGradGuard no_grad;
    num_batches_tracked.add_(1);
    // No momentum means a cumulative average, as in torch::nn::BatchNorm2d.
    if (!options.momentum()) momentum = 1.0 / num_batches_tracked.item<double>();
  }
  // One value per channel has no variance: the running variance would turn NaN and the
  // run stop later as "diverged". Said here, with the cause (PyTorch refuses it too).
  if (is_training() && !synced && input.size(0) * input.size(2) * input.size(3) == 1)
    throw Error("BatchNorm2d in training got one value per channel (input 1 x " + std::to_string(input.size(1)) +
                " x 1 x 1: one image reaching a 1 x 1 feature map, as ASPP's image pooling does); train with at least 2 "
                "images per process (train.batch_size divided by the processes), or train.sync_bn = true in a "
                "data-parallel run");
  if (synced)
    return SyncBatchNormFunction::apply(input.contiguous(), weight, bias, tracking ? running_mean : at::Tensor(),
                                        tracking ? running_var : at::Tensor(), momentum, options.eps());
  if (is_training() && cpu_bf16) return batch_norm_in_bf16(input, tracking, momentum);
  return torch::batch_norm(input, weight, bias, running_mean, running_var, is_training() || !options.track_running_stats(),
                           momentum, options.eps(), at::globalContext().userEnabledCuDNN());
}

// Batch statistics of a bf16 input by LibTorch's bf16 kernel, which sums in fp32 (its
// output is within 2-4 bf16 roundings of an fp64 BatchNorm even where the channel mean is
// 100 standard deviations: the mean is not rounded to bf16 before it is subtracted), at a
// quarter of the time of normalising an fp32 copy and without the two copies. The kernel
// takes bf16 weights and hands the statistics back in bf16; the fp32 running statistics
// move by them (the saved mean and variance carry bf16's 3 significant digits, as the
// running statistics of a bf16 run would anyway).
at::Tensor BatchNorm2dImpl::batch_norm_in_bf16(const at::Tensor& input, bool tracking, double momentum) {
  const auto bf16 = [](const at::Tensor& t) { return t.defined() ? t.to(at::kBFloat16) : t; };
  auto [output, mean, invstd] = at::native_batch_norm(input, bf16(weight), bf16(bias), at::Tensor(), at::Tensor(),
                                                      /*training=*/true, momentum, options.eps());
  if (tracking && running_mean.defined()) {
    torch::NoGradGuard no_grad;
    const double n = static_cast<double>(input.numel() / input.size(1));
    const at::Tensor var = (invstd.to(at::kFloat).pow(-2) - options.eps()).clamp_min(0) * (n / std::max(1.0, n - 1));
    running_mean.mul_(1 - momentum).add_(mean.to(at::kFloat), momentum);
    running_var.mul_(1 - momentum).add_(var, momentum);
  }
  return output;
}

void freeze_batch_norms(torch::nn::Module& module) {
  for (const auto& child : module.modules(/*include_self=*/false)) {
    if (auto* bn = child->as<BatchNorm2d>()) {
      bn->eval();
      if (bn->weight.defined()) bn->weight.set_requires_grad(false);
      if (bn->bias.defined()) bn->bias.set_requires_grad(false);
    }
  }
}

}  // namespace segdistill
