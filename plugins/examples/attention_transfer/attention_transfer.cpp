// Example distiller plugin: attention transfer (Zagoruyko & Komodakis, ICLR 2017).
// The student learns where the teacher's feature is strong: each feature becomes a
// spatial "attention" map (mean over channels of |f|^p), normalised per sample, and the
// loss is the squared distance between the two maps. The channel counts may differ, so
// it needs no adapter and has no parameters.
//
// A complete plugin in one file, against the SDK headers only; plugins/examples/README.md
// walks through it.
#include <torch/torch.h>

#include "segdistill/sdk.hpp"

namespace segdistill_example {

using namespace segdistill;

// The keys a [[distillers]] entry may give: type checks, defaults, ranges, `config schema`
// help and error messages come from this declaration.
struct AttentionTransferOptions {
  double p;
  static void declare(Schema<AttentionTransferOptions>& s) {
    s.field("p", &AttentionTransferOptions::p, "exponent of |feature| in the attention map (the paper's best: 2)")
        .default_value(2.0)
        .range(0.5, 8.0);
  }
};

// A PairDistiller: the engine hands it the one student and one teacher feature the config names.
class AttentionTransfer : public PairDistiller {
 public:
  AttentionTransfer(const AttentionTransferOptions& options, const DistillerContext&) : p_(options.p) {}

  DistillLosses forward(const at::Tensor& student, const at::Tensor& teacher) override {
    const at::Tensor t = attention_map(teacher);
    // Features at different strides are compared at the teacher's resolution.
    const at::Tensor s = resize_like(attention_map(student), t, AlignCorners::kNo);
    // The key names the logged term: loss_attention_transfer in metrics.jsonl.
    return {{"attention_transfer", (unit_rows(s) - unit_rows(t)).pow(2).sum(1).mean()}};
  }

 private:
  // B x C x H x W -> B x 1 x H x W.
  at::Tensor attention_map(const at::Tensor& feature) const { return feature.abs().pow(p_).mean(1, /*keepdim=*/true); }
  static at::Tensor unit_rows(const at::Tensor& map) {
    return torch::nn::functional::normalize(map.flatten(1), torch::nn::functional::NormalizeFuncOptions().dim(1));
  }

  double p_;
};

void register_attention_transfer(PluginRegistrar& registrar) {
  registrar.add_distiller<AttentionTransfer, AttentionTransferOptions>(
      "attention_transfer", "matches normalised spatial attention maps (mean of |f|^p over channels); any channel counts");
}

}  // namespace segdistill_example

SEGDISTILL_PLUGIN("example_attention_transfer", "2.0.0", segdistill_example::register_attention_transfer)
