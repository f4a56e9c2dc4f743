// Example distiller plugin: attention transfer (Zagoruyko & Komodakis, ICLR 2017).
// The student learns where the teacher's feature is strong: each feature becomes a
// spatial "attention" map (mean over channels of |f|^p), normalised per sample, and the
// loss is the squared distance between the two maps. The channel counts may differ, so
// it needs no adapter and has no parameters.
//
// A complete plugin in one file, written against the SDK headers only; the guide in
// plugins/examples/README.md walks through it.
#include <torch/torch.h>

#include "segdistill/sdk.hpp"

namespace segdistill_example {

using segdistill::DistillerContext;
using segdistill::FeatureMap;
using segdistill::Schema;

// The options a config can give under [[distillers]]: declared once, the schema gives
// type checks, defaults, ranges, `config schema` help and error messages for free.
struct AttentionTransferOptions {
  double p = 2.0;
  static void declare(Schema<AttentionTransferOptions>& s) {
    s.field("p", &AttentionTransferOptions::p, "exponent of |feature| in the attention map (the paper's best: 2)")
        .default_value(2.0)
        .range(0.5, 8.0);
  }
};

class AttentionTransfer : public segdistill::Distiller {
 public:
  AttentionTransfer(const AttentionTransferOptions& options, const DistillerContext& context)
      : options_(options), context_(context) {}

  std::map<std::string, at::Tensor> forward(const FeatureMap& student, const FeatureMap& teacher) override {
    at::Tensor s = attention_map(student.at(context_.student.name));
    const at::Tensor t = attention_map(teacher.at(context_.teacher.name));
    // Features at different strides are compared at the teacher's resolution.
    s = segdistill::resize_like(s, t, segdistill::AlignCorners::kNo);
    const auto flat = [](const at::Tensor& map) {
      return torch::nn::functional::normalize(map.flatten(1), torch::nn::functional::NormalizeFuncOptions().dim(1));
    };
    // The key names the logged term: loss_attention_transfer in metrics.jsonl.
    return {{"attention_transfer", (flat(s) - flat(t)).pow(2).sum(1).mean()}};
  }

 private:
  // B x C x H x W -> B x 1 x H x W.
  at::Tensor attention_map(const at::Tensor& feature) const { return feature.abs().pow(options_.p).mean(1, /*keepdim=*/true); }

  AttentionTransferOptions options_;
  DistillerContext context_;
};

void register_attention_transfer(segdistill::PluginRegistrar& registrar) {
  registrar.add_class<AttentionTransfer, AttentionTransferOptions>(
      segdistill::distillers(), "attention_transfer",
      "matches normalised spatial attention maps (mean of |f|^p over channels); any channel counts");
}

}  // namespace segdistill_example

SEGDISTILL_PLUGIN("example_attention_transfer", "1.0.0", segdistill_example::register_attention_transfer)
