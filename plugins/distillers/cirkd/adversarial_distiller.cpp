// The toolbox's adversarial (holistic) term (its facts, 1.7): a discriminator learns to
// tell the teacher's class scores from the student's, and the student is trained to fool
// it. The discriminator is this distiller's own model, stepped by its own Adam after the
// student's step; its weights, spectral-norm vectors, BatchNorm statistics and Adam
// moments are buffers and parameters of the distiller, so checkpoints keep them.
#include "adam_buffers.hpp"
#include "cirkd_distillers.hpp"
#include "sagan_discriminator.hpp"
#include "toolbox_math.hpp"

namespace segdistill::cirkd {

namespace {

struct AdversarialOptions {
  double discriminator_weight, lr, beta1, beta2, eps;
  static void declare(Schema<AdversarialOptions>& s) {
    s.field("discriminator_weight", &AdversarialOptions::discriminator_weight,
            "factor lambda_d of the discriminator's hinge loss (the toolbox's 0.1)")
        .default_value(0.1)
        .at_least(0);
    s.field("lr", &AdversarialOptions::lr, "the discriminator's Adam learning rate, constant (the toolbox's 4e-4)")
        .default_value(4e-4)
        .range(0, 10);
    s.field("beta1", &AdversarialOptions::beta1, "Adam beta1 (the toolbox's 0.9)").default_value(0.9).range(0, 0.999999);
    s.field("beta2", &AdversarialOptions::beta2, "Adam beta2 (the toolbox's 0.99)").default_value(0.99).range(0, 0.999999);
    s.field("eps", &AdversarialOptions::eps, "Adam epsilon (the toolbox's 1e-8)").default_value(1e-8).range(1e-16, 1);
  }
};

// The smallest score map the discriminator's four stride-2 and last 4 x 4 convolutions take.
constexpr std::int64_t kSmallestScoreMap = 64;

class Adversarial : public PairDistiller {
 public:
  Adversarial(const AdversarialOptions& o, const DistillerContext& c) : options_(o), context_(c) {
    require_same_channels(c, "cirkd_adversarial", "class scores");
    discriminator = register_module("discriminator", Discriminator(c.student().channels));
    adam = register_module("adam", AdamBuffers(discriminator->parameters()));
  }

  // The student's term: -mean D(student). The scores are kept for the discriminator's step.
  DistillLosses forward(const at::Tensor& s, const at::Tensor& t) override {
    require_maps(s, t, context_, "cirkd_adversarial");
    if (s.size(2) < kSmallestScoreMap || s.size(3) < kSmallestScoreMap)
      throw Error(context_.config_key + ": cirkd_adversarial's discriminator needs score maps of at least " +
                  std::to_string(kSmallestScoreMap) + " x " + std::to_string(kSmallestScoreMap) + ", but " +
                  context_.student().name + " is " + std::to_string(s.size(2)) + " x " + std::to_string(s.size(3)));
    discriminator->preprocess_additional->train();  // the toolbox's discriminator never leaves train mode
    student_scores_ = s.detach();
    teacher_scores_ = t.detach();
    return {{"cirkd_adversarial", -discriminator->forward(s).mean()}};
  }

  // zero_grad of the discriminator (the student's backward reached it too), its hinge loss
  // on the student's scores (detached) then the teacher's, backward, gradient averaging
  // over the ranks, Adam. Logs the hinge loss (averaged over the ranks).
  std::map<std::string, double> after_student_step() override {
    if (!student_scores_.defined()) return {};
    for (auto& p : discriminator->parameters())
      if (p.grad().defined()) p.grad().zero_();
    const at::Tensor fake = torch::relu(1.0 + discriminator->forward(student_scores_)).mean();
    const at::Tensor real = torch::relu(1.0 - discriminator->forward(teacher_scores_)).mean();
    const at::Tensor loss = options_.discriminator_weight * (real + fake);
    loss.backward();
    student_scores_ = teacher_scores_ = at::Tensor();
    const double logged = average_over_ranks(loss.detach());
    adam->step({options_.lr, options_.beta1, options_.beta2, options_.eps});
    return {{"discriminator_loss", logged}};
  }

  std::vector<at::Tensor> self_stepped_parameters() override { return discriminator->parameters(); }

  Discriminator discriminator{nullptr};
  AdamBuffers adam{nullptr};

 private:
  // Averages the discriminator's gradients and `loss` over the ranks (one collective per
  // tensor); returns the loss's average.
  double average_over_ranks(const at::Tensor& loss) {
    const auto& ranks = current_collectives();
    if (!ranks || ranks->world_size() <= 1) return loss.item<double>();
    std::vector<at::Tensor> tensors{loss.reshape({1}).clone()};
    for (auto& p : discriminator->parameters()) tensors.push_back(p.grad());
    ranks->all_reduce_sum(tensors);
    for (auto& t : tensors) t.div_(ranks->world_size());
    return tensors[0].item<double>();
  }

  AdversarialOptions options_;
  DistillerContext context_;
  at::Tensor student_scores_, teacher_scores_;
};

}  // namespace

void register_adversarial_distiller(PluginRegistrar& r) {
  r.add_distiller<Adversarial, AdversarialOptions>(
      "cirkd_adversarial",
      "the CIRKD toolbox's adversarial (holistic) term of SKD: the student fools a SAGAN-style discriminator of class "
      "scores, which its own Adam steps after the student's step",
      DefaultFeatures{{"logits"}, {"logits"}});
}

}  // namespace segdistill::cirkd
