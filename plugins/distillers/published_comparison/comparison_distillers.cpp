// The comparison distillers of the published code base (distiller_comp.py), computed as
// it computes them, constants included, to reproduce the baselines of the TaT paper's
// tables. Each returns what the published trainer adds to the loss before alpha:
// sum(D) / B, B the batch. The generic formulations are `kd` and `fitnet` (baselines).
#include <torch/torch.h>

#include "segdistill/sdk.hpp"

namespace segdistill::published_comparison {

namespace {

std::string size_text(const at::Tensor& t) {
  std::string text;
  for (const std::int64_t s : t.sizes()) text += (text.empty() ? "" : " x ") + std::to_string(s);
  return text;
}

// Checks the step's features: Error naming the distiller when `same_shape` does not hold
// (these formulas compare the maps element by element).
void check_maps(const at::Tensor& s, const at::Tensor& t, const DistillerContext& c, bool same_shape) {
  if (s.dim() != 4 || t.dim() != 4 || s.size(0) != t.size(0) || (same_shape && !s.sizes().equals(t.sizes())))
    throw Error(c.config_key + ": the student feature " + c.student().name + " is " + size_text(s) + " and the teacher feature " +
                c.teacher().name + " is " + size_text(t) + "; this distiller needs N x C x H x W maps of one " +
                (same_shape ? "shape" : "batch"));
}

void require_same_channels(const DistillerContext& c, const std::string& type) {
  const FeatureSpec &s = c.student(), &t = c.teacher();
  if (s.channels != t.channels || s.stride != t.stride)
    throw Error(c.config_key + ": " + type + " compares the two maps element by element, but " + s.name + " has " +
                std::to_string(s.channels) + " channels at stride " + std::to_string(s.stride) + " and " + t.name + " " +
                std::to_string(t.channels) + " at stride " + std::to_string(t.stride) +
                " (the published runs use the decoder features of both networks)");
}

double batch(const at::Tensor& x) { return static_cast<double>(x.size(0)); }

// --- kd: softmax along the width of the feature maps ---------------------------------
struct KdWidthOptions {
  double temperature, scale;
  static void declare(Schema<KdWidthOptions>& s) {
    s.field("temperature", &KdWidthOptions::temperature, "softening temperature T").default_value(7.0).range(1e-3, 1e3);
    s.field("scale", &KdWidthOptions::scale, "factor of the KL sum (the published 0.01)").default_value(0.01).range(0, 1e6);
  }
};

// The published "kd": p_t = softmax(f_t / T) and log p_s = log_softmax(f_s / T) along the
// last axis (the map's width, not its channels); D = scale T^2 / B sum p_t (log p_t - log p_s).
class KdWidth : public PairDistiller {
 public:
  KdWidth(const KdWidthOptions& o, const DistillerContext& c) : options_(o), context_(c) { require_same_channels(c, "kd_width"); }
  DistillLosses forward(const at::Tensor& s, const at::Tensor& t) override {
    check_maps(s, t, context_, true);
    const double temperature = options_.temperature;
    const at::Tensor log_p_t = torch::log_softmax(t / temperature, -1);
    const at::Tensor kl = (log_p_t.exp() * (log_p_t - torch::log_softmax(s / temperature, -1))).sum();
    const at::Tensor d = kl * (options_.scale * temperature * temperature / batch(s));
    return {{"kd_width", d / batch(s)}};
  }

 private:
  KdWidthOptions options_;
  DistillerContext context_;
};

// --- at: attention maps over positions -----------------------------------------------
struct NoOptions {
  static void declare(Schema<NoOptions>&) {}
};

// a(f) = the L2-normalised (eps 1e-12) channel mean of f^2 over the positions.
at::Tensor attention_map(const at::Tensor& f) {
  const at::Tensor a = f.pow(2).mean(1).flatten(1);
  return a / a.norm(2, 1, true).clamp_min(1e-12);
}

// The published "at": the taller map average-pooled to H_small x H_small (square, as
// published), D = (a(f_s) - a(f_t))^2 per position.
class At : public PairDistiller {
 public:
  At(const NoOptions&, const DistillerContext& c) : context_(c) {}
  DistillLosses forward(const at::Tensor& student, const at::Tensor& teacher) override {
    check_maps(student, teacher, context_, false);
    at::Tensor s = student, t = teacher;
    if (s.size(2) > t.size(2)) s = torch::adaptive_avg_pool2d(s, {t.size(2), t.size(2)});
    if (t.size(2) > s.size(2)) t = torch::adaptive_avg_pool2d(t, {s.size(2), s.size(2)});
    if (s.size(3) != t.size(3))
      throw Error(context_.config_key + ": at pools the taller map to a square; the maps are " + size_text(s) + " and " +
                  size_text(t) + " after it (use maps of one width, or square ones)");
    return {{"at", (attention_map(s) - attention_map(t)).pow(2).sum() / batch(s)}};
  }

 private:
  DistillerContext context_;
};

// --- fitnet without a regressor ---------------------------------------------------------
class FitNetPlain : public PairDistiller {
 public:
  FitNetPlain(const NoOptions&, const DistillerContext& c) : context_(c) { require_same_channels(c, "fitnet_plain"); }
  DistillLosses forward(const at::Tensor& s, const at::Tensor& t) override {
    check_maps(s, t, context_, true);
    return {{"fitnet_plain", torch::mse_loss(s, t) / batch(s)}};
  }

 private:
  DistillerContext context_;
};

// --- ch: channel correlations per patch (ICKD) ----------------------------------------
struct ChannelOptions {
  std::vector<std::int64_t> patches;
  static void declare(Schema<ChannelOptions>& s) {
    s.field("patches", &ChannelOptions::patches,
            "[n, m]: patches of H // n x W // m (the published n = m; train_comp.sh uses 8, its parser 4)")
        .default_value(std::vector<std::int64_t>{4, 4})
        .at_least(1);
  }
};

// Row-normalised C x C Gram matrices of every patch: patches kh = H // n, kw = W // m on a
// floor(H / kh) x floor(W / kw) grid (leftover rows and columns dropped).
at::Tensor patch_grams(const at::Tensor& f, std::int64_t n, std::int64_t m) {
  const std::int64_t b = f.size(0), c = f.size(1), kh = f.size(2) / n, kw = f.size(3) / m;
  const std::int64_t gh = f.size(2) / kh, gw = f.size(3) / kw;
  const at::Tensor patches = f.narrow(2, 0, gh * kh)
                                 .narrow(3, 0, gw * kw)
                                 .reshape({b, c, gh, kh, gw, kw})
                                 .permute({0, 2, 4, 1, 3, 5})
                                 .reshape({b * gh * gw, c, kh * kw});
  const at::Tensor gram = torch::matmul(patches, patches.transpose(1, 2));
  return gram / gram.norm(2, 2, true).clamp_min(1e-12);
}

// The published "ch": D = 0.5 sum (G_s - G_t)^2 / (C B^2).
class Channel : public PairDistiller {
 public:
  Channel(const ChannelOptions& o, const DistillerContext& c) : options_(o), context_(c) {
    if (o.patches.size() != 2) throw Error(c.config_key + ".patches: expected [n, m]");
    require_same_channels(c, "ch");
  }
  DistillLosses forward(const at::Tensor& s, const at::Tensor& t) override {
    check_maps(s, t, context_, true);
    const std::int64_t n = options_.patches[0], m = options_.patches[1];
    if (s.size(2) < n || s.size(3) < m)
      throw Error(context_.config_key + ".patches: the feature is " + size_text(s) + ", smaller than the " + std::to_string(n) +
                  " x " + std::to_string(m) + " patch grid");
    const double b = batch(s), c = static_cast<double>(s.size(1));
    const at::Tensor d = 0.5 * (patch_grams(s, n, m) - patch_grams(t, n, m)).pow(2).sum() / (c * b * b);
    return {{"ch", d / b}};
  }

 private:
  ChannelOptions options_;
  DistillerContext context_;
};

void register_comparison(PluginRegistrar& r) {
  r.add_distiller<KdWidth, KdWidthOptions>(
      "kd_width", "the published 'kd': KL of feature maps softened along their width (T = 7, x 0.01 T^2 / B); same shapes");
  r.add_distiller<At, NoOptions>(
      "at", "the published 'at': squared difference of L2-normalised attention maps (mean of f^2 over channels)");
  r.add_distiller<FitNetPlain, NoOptions>("fitnet_plain", "the published 'fitnet': feature MSE without a regressor");
  r.add_distiller<Channel, ChannelOptions>("ch",
                                           "the published 'ch' (ICKD): row-normalised channel Gram matrices per patch (patches)");
}

}  // namespace

}  // namespace segdistill::published_comparison

SEGDISTILL_PLUGIN("published_comparison_distillers", "1.0.0", segdistill::published_comparison::register_comparison)
