// ReviewKD ("Distilling Knowledge via Knowledge Review", CVPR 2021) as the published
// TaT code base computes it (distiller_reviewkd.py): every student level goes through an
// attention-based fusion (ABF) that also takes the deeper level's fused map, and each
// result is compared with the teacher's level by the hierarchical context loss (HCL).
#include <torch/torch.h>

#include "abf.hpp"
#include "segdistill/sdk.hpp"

namespace segdistill::reviewkd {

namespace {

struct ReviewKdOptions {
  std::int64_t mid_channels;
  std::vector<std::int64_t> pool_sizes;
  bool published_frozen_abf;
  static void declare(Schema<ReviewKdOptions>& s) {
    s.field("mid_channels", &ReviewKdOptions::mid_channels, "channels of the fused maps inside the ABFs (published 256)")
        .default_value(256)
        .range(1, 65536);
    s.field("pool_sizes", &ReviewKdOptions::pool_sizes,
            "HCL pyramid: each level is also compared average-pooled to l x l for these l (skipped where l >= the "
            "map's height), with weights 1/2, 1/4, ...")
        .default_value(std::vector<std::int64_t>{4, 2, 1})
        .at_least(1);
    s.field("published_frozen_abf", &ReviewKdOptions::published_frozen_abf,
            "reproduce the published quirk: the ABFs' parameters are never given to the optimizer (they keep their "
            "random initial values; their BatchNorms still update their statistics)")
        .default_value(false);
  }
};

std::string size_text(const at::Tensor& t) {
  std::string text;
  for (const std::int64_t s : t.sizes()) text += (text.empty() ? "" : " x ") + std::to_string(s);
  return text;
}

// HCL: MSE of the maps, plus MSE of their l x l average pools weighted 1/2, 1/4, ...,
// over the sum of the weights used.
at::Tensor hierarchical_context_loss(const at::Tensor& s, const at::Tensor& t, const std::vector<std::int64_t>& pool_sizes) {
  at::Tensor loss = torch::mse_loss(s, t);
  double weight = 1.0, total = 1.0;
  for (const std::int64_t l : pool_sizes) {
    if (l >= s.size(2)) continue;
    weight /= 2.0;
    loss = loss + weight * torch::mse_loss(torch::adaptive_avg_pool2d(s, {l, l}), torch::adaptive_avg_pool2d(t, {l, l}));
    total += weight;
  }
  return loss / total;
}

class ReviewKd : public LevelDistiller {
 public:
  ReviewKd(const ReviewKdOptions& o, const DistillerContext& c) : options_(o), context_(c) {
    for (std::size_t i = 0; i < c.student_features.size(); ++i) {
      const FeatureSpec &s = c.student_features[i], &t = c.teacher_features[i];
      if (s.stride != t.stride)
        throw Error(c.config_key + ": level " + std::to_string(i) + " pairs " + s.name + " (stride " + std::to_string(s.stride) +
                    ") with " + t.name + " (stride " + std::to_string(t.stride) +
                    "); reviewkd compares maps of one size, so pair features of the same stride");
    }
    // Built deepest first, as the fusion runs (the deepest level fuses nothing); kept
    // under the config's level index.
    abfs_.resize(c.student_features.size(), Abf(nullptr));
    for (std::size_t i = c.student_features.size(); i-- > 0;) {
      const bool deepest = i + 1 == c.student_features.size();
      abfs_[i] = Abf(c.student_features[i].channels, o.mid_channels, c.teacher_features[i].channels, !deepest);
    }
    auto container = register_module("abfs", std::make_shared<torch::nn::Module>());
    for (std::size_t i = 0; i < abfs_.size(); ++i) container->register_module(std::to_string(i), abfs_[i]);
    if (o.published_frozen_abf)
      for (auto& p : parameters()) p.set_requires_grad(false);
  }

  DistillLosses forward(const FeatureList& student, const FeatureList& teacher) override {
    std::map<std::string, at::Tensor> terms;
    at::Tensor previous;
    for (std::size_t i = abfs_.size(); i-- > 0;) {
      const FeatureSpec &s_spec = context_.student_features[i], &t_spec = context_.teacher_features[i];
      const at::Tensor& s = student[i];
      const at::Tensor t = teacher[i].detach();
      auto [out, fused] = abfs_[i]->forward(s, previous);
      previous = fused;
      if (!out.sizes().equals(t.sizes()))
        throw Error(context_.config_key + ": level " + std::to_string(i) + ": the student's " + s_spec.name + " maps to " +
                    size_text(out) + " but the teacher's " + t_spec.name + " is " + size_text(t));
      // As published: the sum over levels divided by the batch once more.
      const std::string key = terms.count(s_spec.name) ? s_spec.name + "#" + std::to_string(i) : s_spec.name;
      terms[key] = hierarchical_context_loss(out, t, options_.pool_sizes) / static_cast<double>(t.size(0));
    }
    return terms;
  }

 private:
  ReviewKdOptions options_;
  DistillerContext context_;
  std::vector<Abf> abfs_;
};

void register_reviewkd(PluginRegistrar& r) {
  r.add_distiller<ReviewKd, ReviewKdOptions>(
      "reviewkd",
      "ReviewKD: attention-based fusion of the student's levels (deep to shallow) and the "
      "hierarchical context loss against the teacher's (student_features/teacher_features)");
}

}  // namespace

}  // namespace segdistill::reviewkd

SEGDISTILL_PLUGIN("reviewkd_distiller", "1.0.0", segdistill::reviewkd::register_reviewkd)
