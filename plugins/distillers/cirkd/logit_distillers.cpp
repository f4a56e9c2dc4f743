// Distillers over per-position distributions: the toolbox's KD (1.2), channel-wise
// distillation (CWD, 1.5) and the channel similarity of DSD (CSD, 1.9).
#include "cirkd_distillers.hpp"
#include "toolbox_math.hpp"

namespace segdistill::cirkd {

namespace {

struct TemperatureOptions {
  double temperature;
  static void declare(Schema<TemperatureOptions>& s) {
    s.field("temperature", &TemperatureOptions::temperature, "softening temperature T (the toolbox's --kd-temperature: 1)")
        .default_value(1.0)
        .range(1e-3, 1e3);
  }
};

// L = T^2 KL(softmax(t / T) || softmax(s / T)) over the B h w positions' class
// distributions, divided by B h w. No resizing, no ignore mask: both maps at one size.
class Kd : public PairDistiller {
 public:
  Kd(const TemperatureOptions& o, const DistillerContext& c) : temperature_(o.temperature), context_(c) {
    require_same_channels(c, "cirkd_kd", "class scores");
  }
  DistillLosses forward(const at::Tensor& s, const at::Tensor& t) override {
    require_maps(s, t, context_, "cirkd_kd");
    const double rows = static_cast<double>(s.size(0) * s.size(2) * s.size(3));
    const at::Tensor p_t = torch::softmax(t / temperature_, 1);
    const at::Tensor log_q = torch::log_softmax(s / temperature_, 1);
    return {{"cirkd_kd", kl_sum(p_t, log_q, rows) * (temperature_ * temperature_)}};
  }

 private:
  double temperature_;
  DistillerContext context_;
};

struct CwdOptions {
  double temperature;
  bool student_log_softmax;
  static void declare(Schema<CwdOptions>& s) {
    s.field("temperature", &CwdOptions::temperature, "softening temperature T (the toolbox's 4)")
        .default_value(4.0)
        .range(1e-3, 1e3);
    s.field("student_log_softmax", &CwdOptions::student_log_softmax,
            "take the student's log-probabilities with log_softmax; false (the toolbox): the log of its softmax, which "
            "is -inf where a probability underflows")
        .default_value(false);
  }
};

// Per sample and channel, p = softmax over the positions of x / T;
// L = T^2 sum_{n, c, positions} p_t (log p_t - log p_s) / (B C_s), the sum over the
// teacher's channels and C_s the student's count before the 1x1 convolution that maps
// the student's channels to the teacher's (used only when they differ, no bias).
class Cwd : public PairDistiller {
 public:
  Cwd(const CwdOptions& o, const DistillerContext& c) : options_(o), context_(c) {
    const std::int64_t s = c.student().channels, t = c.teacher().channels;
    if (s != t) align_ = register_module("align", torch::nn::Conv2d(torch::nn::Conv2dOptions(s, t, 1).bias(false)));
  }
  DistillLosses forward(const at::Tensor& student, const at::Tensor& teacher) override {
    require_maps(student, teacher, context_, "cirkd_cwd");
    const double divisor = static_cast<double>(student.size(0) * student.size(1));
    const at::Tensor s = (align_ ? align_(student) : student).flatten(2) / options_.temperature;
    const at::Tensor t = teacher.flatten(2) / options_.temperature;
    const at::Tensor log_q = options_.student_log_softmax ? torch::log_softmax(s, 2) : torch::softmax(s, 2).log();
    const double t2 = options_.temperature * options_.temperature;
    return {{"cirkd_cwd", kl_sum(torch::softmax(t, 2), log_q, divisor) * t2}};
  }

 private:
  CwdOptions options_;
  DistillerContext context_;
  torch::nn::Conv2d align_{nullptr};
};

struct CsdOptions {
  double temperature;
  static void declare(Schema<CsdOptions>& s) {
    s.field("temperature", &CsdOptions::temperature, "temperature of the softmax over positions (the toolbox's 4)")
        .default_value(4.0)
        .range(1e-3, 1e3);
  }
};

// DSD's channel similarity: 2 x 2 average pool (stride 2, partial border windows average
// what they hold), per sample and class p = softmax over the positions of x / T, G = P P^T
// (K x K); L = mean over B K K of (G_s - G_t)^2.
class Csd : public PairDistiller {
 public:
  Csd(const CsdOptions& o, const DistillerContext& c) : temperature_(o.temperature), context_(c) {
    require_same_channels(c, "cirkd_csd", "class similarities");
  }
  DistillLosses forward(const at::Tensor& s, const at::Tensor& t) override {
    require_maps(s, t, context_, "cirkd_csd");
    return {{"cirkd_csd", (gram(s) - gram(t)).pow(2).mean()}};
  }

 private:
  at::Tensor gram(const at::Tensor& x) const {
    const at::Tensor pooled = torch::avg_pool2d(x, {2, 2}, {2, 2}, {0, 0}, /*ceil_mode=*/true);
    const at::Tensor p = torch::softmax(pooled.flatten(2) / temperature_, 2);
    return torch::matmul(p, p.transpose(1, 2));
  }

  double temperature_;
  DistillerContext context_;
};

}  // namespace

void register_logit_distillers(PluginRegistrar& r) {
  r.add_distiller<Kd, TemperatureOptions>(
      "cirkd_kd", "the CIRKD toolbox's KD: T^2 KL of the class distributions per position, / (B h w), no resizing",
      {{"logits"}, {"logits"}});
  r.add_distiller<Cwd, CwdOptions>("cirkd_cwd",
                                   "the CIRKD toolbox's CWD: per channel, KL of softmaxes over the positions, T^2 / (B C_s); "
                                   "1x1 conv when the channel counts differ");
  r.add_distiller<Csd, CsdOptions>(
      "cirkd_csd", "the CIRKD toolbox's DSD channel term: class-similarity Gram matrices of 2x2-pooled logits, MSE",
      {{"logits"}, {"logits"}});
}

}  // namespace segdistill::cirkd
