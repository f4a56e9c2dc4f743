// The segmentation losses of [train.loss]: cross-entropy (the default) and the published
// focal loss. Both are means over the labelled pixels of the global batch, weighted per
// class when class_weights is set, as torch.nn.CrossEntropyLoss(weight, ignore_index).
#include <torch/torch.h>

#include "segdistill/sdk.hpp"

namespace segdistill::losses_plugin {

namespace {

// Class weights as a tensor (undefined for none), checked against the class count.
at::Tensor class_weight_tensor(const std::vector<double>& weights, const LossContext& context) {
  if (weights.empty()) return {};
  require(static_cast<std::int64_t>(weights.size()) == context.num_classes,
          "{}.class_weights: {} values for {} classes (one weight per class, or [] for none)", context.config_key, weights.size(),
          context.num_classes);
  return torch::tensor(weights, torch::kFloat);
}

// Cross-entropy summed over the labelled pixels, and their count (or weight sum).
PixelSum weighted_cross_entropy(const at::Tensor& logits, const at::Tensor& labels, const at::Tensor& weights,
                                std::int64_t ignore_index) {
  namespace F = torch::nn::functional;
  auto options = F::CrossEntropyFuncOptions().ignore_index(ignore_index).reduction(torch::kSum);
  if (weights.defined()) options.weight(weights);
  PixelSum out;
  out.sum = F::cross_entropy(logits, labels, options);
  const at::Tensor labelled = labels != ignore_index;
  out.normaliser =
      weights.defined() ? (weights.index({labels.masked_fill(~labelled, 0)}) * labelled).sum() : labelled.sum().to(torch::kFloat);
  return out;
}

// The pixel sum both losses share: (weighted) cross-entropy over the labelled pixels.
class PixelCrossEntropy : public Loss {
 public:
  PixelCrossEntropy(const std::vector<double>& class_weights, const LossContext& context) : ignore_index_(context.ignore_index) {
    at::Tensor weights = class_weight_tensor(class_weights, context);
    if (weights.defined()) weights_ = register_buffer("class_weights", weights);
  }
  PixelSum pixel_sum(const at::Tensor& logits, const at::Tensor& labels) override {
    return weighted_cross_entropy(logits, labels, weights_, ignore_index_);
  }

 private:
  std::int64_t ignore_index_;
  at::Tensor weights_;
};

struct CrossEntropyOptions {
  std::vector<double> class_weights;
  static void declare(Schema<CrossEntropyOptions>& s) {
    s.field("class_weights", &CrossEntropyOptions::class_weights, "weight per class ([] for none)")
        .default_value(std::vector<double>{})
        .range(0, 1e6);
  }
};

class CrossEntropy : public PixelCrossEntropy {
 public:
  CrossEntropy(const CrossEntropyOptions& options, const LossContext& context)
      : PixelCrossEntropy(options.class_weights, context) {}
  std::string log_name() const override { return "ce"; }
};

struct FocalOptions {
  double gamma;
  double alpha;
  std::vector<double> class_weights;
  static void declare(Schema<FocalOptions>& s) {
    s.field("gamma", &FocalOptions::gamma, "focusing exponent").default_value(2.0).range(0, 100);
    s.field("alpha", &FocalOptions::alpha, "factor of the loss").default_value(0.5).range(0, 100);
    s.field("class_weights", &FocalOptions::class_weights, "cross-entropy weight per class ([] for none)")
        .default_value(std::vector<double>{})
        .range(0, 1e6);
  }
};

// The published focal loss: applied to the batch's mean cross-entropy c, not per pixel:
// alpha (1 - e^-c)^gamma c.
class Focal : public PixelCrossEntropy {
 public:
  Focal(const FocalOptions& options, const LossContext& context)
      : PixelCrossEntropy(options.class_weights, context), gamma_(options.gamma), alpha_(options.alpha) {}
  std::string log_name() const override { return "focal"; }
  at::Tensor of_mean(const at::Tensor& mean) const override { return alpha_ * torch::pow(1 - torch::exp(-mean), gamma_) * mean; }

 private:
  double gamma_, alpha_;
};

void register_losses(PluginRegistrar& r) {
  r.add_class<CrossEntropy, CrossEntropyOptions>(losses(), "cross_entropy",
                                                 "mean cross-entropy over the labelled pixels (the default)");
  r.add_class<Focal, FocalOptions>(losses(), "focal",
                                   "the published focal loss: alpha (1 - e^-c)^gamma c of the mean cross-entropy c");
}

}  // namespace

}  // namespace segdistill::losses_plugin

SEGDISTILL_PLUGIN("losses", "1.0.0", segdistill::losses_plugin::register_losses)
