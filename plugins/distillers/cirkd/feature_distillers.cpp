// Distillers of feature maps position by position: the toolbox's attention transfer (1.3),
// FitNet (1.4) and the pair-wise spatial term of DSD (PSD, 1.9).
#include "cirkd_distillers.hpp"
#include "gcn_adaptor.hpp"
#include "toolbox_math.hpp"

namespace segdistill::cirkd {

namespace {

// a(f): per sample, the channel mean of f^2 over the flattened positions, L2-normalised.
at::Tensor attention(const at::Tensor& f) { return unit(f.pow(2).mean(1).flatten(1), 1); }

// L = mean over B h w of (a(f_s) - a(f_t))^2; channel counts may differ.
class At : public PairDistiller {
 public:
  At(const NoOptions&, const DistillerContext& c) : context_(c) {}
  DistillLosses forward(const at::Tensor& s, const at::Tensor& t) override {
    require_maps(s, t, context_, "cirkd_at");
    return {{"cirkd_at", (attention(s) - attention(t)).pow(2).mean()}};
  }

 private:
  DistillerContext context_;
};

struct FitNetOptions {
  bool gcn;
  static void declare(Schema<FitNetOptions>& s) { s.field("gcn", &FitNetOptions::gcn, kGcnOptionHelp).default_value(false); }
};

// A 1x1 convolution C_s -> C_t (no bias, PyTorch's default initialisation, applied even
// when the counts are equal, trained with the student); L = mean over B C_t h w of
// (conv(f_s) - f_t)^2.
class FitNet : public PairDistiller {
 public:
  FitNet(const FitNetOptions& o, const DistillerContext& c) : context_(c) {
    if (o.gcn) gcn_ = shared_gcn(*this, c);
    conv_ = register_module(
        "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.student().channels, c.teacher().channels, 1).bias(false)));
  }
  DistillLosses forward(const at::Tensor& s, const at::Tensor& t) override {
    require_maps(s, t, context_, "cirkd_fitnet");
    return {{"cirkd_fitnet", torch::mse_loss(conv_(gcn_ ? gcn_->forward(s) : s), t)}};
  }

 private:
  DistillerContext context_;
  Gcn gcn_{nullptr};
  torch::nn::Conv2d conv_{nullptr};
};

// For each level, a = attention(f); for each pair of levels n < m, r = unit(a_m - a_n);
// L = the mean over the pairs of mean over B h w of (unit(r_s) - unit(r_t))^2. The
// toolbox's levels are [aux logits (or logits), feature, logits]: three pairs.
class Psd : public LevelDistiller {
 public:
  Psd(const NoOptions&, const DistillerContext& c) : context_(c) {
    if (c.student_features.size() < 2)
      throw Error(c.config_key +
                  ": cirkd_psd compares the differences between levels: give at least two in "
                  "student_features / teacher_features (the toolbox's three: aux logits, feature, logits)");
  }
  DistillLosses forward(const FeatureList& student, const FeatureList& teacher) override {
    std::vector<at::Tensor> a_s, a_t;
    for (std::size_t i = 0; i < student.size(); ++i) {
      require_maps(student[i], teacher[i], level_context(i), "cirkd_psd", true);
      require_maps(student[i], student[0], level_context(i), "cirkd_psd (every level at the first level's size)", true);
      a_s.push_back(attention(student[i]));
      a_t.push_back(attention(teacher[i]));
    }
    at::Tensor sum = torch::zeros({}, student[0].options());
    int pairs = 0;
    for (std::size_t n = 0; n < a_s.size(); ++n)
      for (std::size_t m = n + 1; m < a_s.size(); ++m, ++pairs)
        sum = sum + (unit(unit(a_s[m] - a_s[n], 1), 1) - unit(unit(a_t[m] - a_t[n], 1), 1)).pow(2).mean();
    return {{"cirkd_psd", sum / pairs}};
  }

 private:
  // The context of one level, for messages.
  DistillerContext level_context(std::size_t i) const {
    DistillerContext c = context_;
    c.config_key = context_.config_key + " (level " + std::to_string(i) + ")";
    c.student_features = {context_.student_features[i]};
    c.teacher_features = {context_.teacher_features[i]};
    return c;
  }

  DistillerContext context_;
};

}  // namespace

void register_feature_distillers(PluginRegistrar& r) {
  r.add_distiller<At, NoOptions>("cirkd_at",
                                 "the CIRKD toolbox's AT: squared difference of L2-normalised channel means of f^2, mean "
                                 "over positions");
  r.add_distiller<FitNet, FitNetOptions>("cirkd_fitnet",
                                         "the CIRKD toolbox's FitNet: MSE through a 1x1 conv (no bias, always applied)");
  r.add_distiller<Psd, NoOptions>("cirkd_psd",
                                  "the CIRKD toolbox's DSD pair-wise spatial term over several levels "
                                  "(student_features / teacher_features)");
}

}  // namespace segdistill::cirkd
