// Example distiller plugin: channel-wise distillation (CWD; Shu et al., ICCV 2021). Each
// channel of a feature (or of the class scores) becomes a distribution over the spatial
// positions, softmax(x / T); the student's is pulled towards the teacher's by
//
//   L = T^2 / (N C) sum_{n, c} KL(p_t(n, c, .) || p_s(n, c, .)),
//
// C the student's channel count. When the counts differ, a 1x1 convolution (trained with
// the student) maps the student's channels to the teacher's first.
//
// A complete plugin in one file, against the SDK headers only; plugins/examples/README.md
// walks through it.
#include <torch/torch.h>

#include "segdistill/sdk.hpp"

namespace segdistill_example {

using namespace segdistill;

struct ChannelWiseOptions {
  double temperature;
  static void declare(Schema<ChannelWiseOptions>& s) {
    s.field("temperature", &ChannelWiseOptions::temperature, "softening temperature T (the loss is scaled by T^2)")
        .default_value(4.0)
        .range(1e-3, 1e3);
  }
};

class ChannelWise : public PairDistiller {
 public:
  ChannelWise(const ChannelWiseOptions& options, const DistillerContext& context) : temperature_(options.temperature) {
    const std::int64_t s = context.student().channels, t = context.teacher().channels;
    if (s != t) align_ = register_module("align", torch::nn::Conv2d(torch::nn::Conv2dOptions(s, t, 1).bias(false)));
  }

  DistillLosses forward(const at::Tensor& student, const at::Tensor& teacher) override {
    const double channels = static_cast<double>(student.size(0) * student.size(1));  // N C, before the alignment
    const at::Tensor s = resize_like(align_ ? align_(student) : student, teacher, AlignCorners::kYes);
    const at::Tensor log_p_s = torch::log_softmax(s.flatten(2) / temperature_, 2);
    const at::Tensor log_p_t = torch::log_softmax(teacher.flatten(2) / temperature_, 2);
    const at::Tensor kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum();
    return {{"channel_wise", kl * (temperature_ * temperature_ / channels)}};
  }

 private:
  double temperature_;
  torch::nn::Conv2d align_{nullptr};
};

void register_channel_wise(PluginRegistrar& registrar) {
  // With no features named, it distils the class scores, as CWD's logit term does.
  registrar.add_distiller<ChannelWise, ChannelWiseOptions>(
      "channel_wise", "CWD: per channel, KL between softmaxes over the positions (temperature); 1x1 conv if channels differ",
      {{"logits"}, {"logits"}});
}

}  // namespace segdistill_example

SEGDISTILL_PLUGIN("example_channel_wise", "1.0.0", segdistill_example::register_channel_wise)
