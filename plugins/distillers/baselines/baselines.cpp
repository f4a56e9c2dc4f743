// Baseline distillers to compare TaT with: pixel-wise KD on softened logits, and FitNet
// (one-to-one feature matching through a 1x1 adapter, the matching TaT argues against).
#include <torch/torch.h>

#include "segdistill/sdk.hpp"

namespace segdistill::baselines {

struct KdOptions {
  double temperature;
  static void declare(Schema<KdOptions>& s) {
    s.field("temperature", &KdOptions::temperature, "softening temperature T (the loss is scaled by T^2)")
        .default_value(4.0)
        .range(1e-3, 1e3);
  }
};

// KL(softmax(t / T) || softmax(s / T)) per pixel, averaged over pixels, times T^2.
class KdDistiller : public PairDistiller {
 public:
  KdDistiller(const KdOptions& o, const DistillerContext& c) : options_(o) {
    if (c.student().channels != c.teacher().channels)
      throw Error(c.config_key + ": kd compares class scores, but " + c.student().name + " has " +
                  std::to_string(c.student().channels) + " channels and " + c.teacher().name + " " +
                  std::to_string(c.teacher().channels));
  }
  DistillLosses forward(const at::Tensor& student, const at::Tensor& t) override {
    const at::Tensor s = resize_like(student, t, AlignCorners::kYes);
    const double temperature = options_.temperature;
    const at::Tensor log_p = torch::log_softmax(s / temperature, 1);
    const at::Tensor q = torch::softmax(t / temperature, 1);
    const at::Tensor kl = (q * (torch::log(q.clamp_min(1e-12)) - log_p)).sum(1).mean();
    return {{"kd", kl * temperature * temperature}};
  }

 private:
  KdOptions options_;
};

struct FitNetOptions {
  static void declare(Schema<FitNetOptions>&) {}
};

// MSE between adapter(student feature) and the teacher feature, position by position.
class FitNetDistiller : public PairDistiller {
 public:
  FitNetDistiller(const FitNetOptions&, const DistillerContext& c) {
    adapter = register_module(
        "adapter", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.student().channels, c.teacher().channels, 1).bias(false)));
  }
  DistillLosses forward(const at::Tensor& student, const at::Tensor& t) override {
    const at::Tensor s = resize_like(adapter(student), t, AlignCorners::kYes);
    return {{"fitnet", torch::mse_loss(s, t)}};
  }

 private:
  torch::nn::Conv2d adapter{nullptr};
};

namespace {
void register_baselines(PluginRegistrar& r) {
  r.add_distiller<KdDistiller, KdOptions>("kd", "pixel-wise KL divergence between softened class scores (temperature)",
                                          {{"logits"}, {"logits"}});
  r.add_distiller<FitNetDistiller, FitNetOptions>("fitnet", "one-to-one feature MSE through a 1x1 adapter");
}
}  // namespace

}  // namespace segdistill::baselines

SEGDISTILL_PLUGIN("baseline_distillers", "1.0.0", segdistill::baselines::register_baselines)
