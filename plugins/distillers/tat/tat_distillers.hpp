#pragma once
// The TaT distillers: patch-group and anchor-point distillation through the teacher's
// target-aware attention (Lin et al., CVPR 2022), batched over the whole batch.
#include <array>
#include <string>
#include <vector>

#include "segdistill/config/schema.hpp"
#include "segdistill/distill/distiller.hpp"
#include "tat_embedding.hpp"

namespace segdistill::tat {

struct PatchGroupOptions {
  std::vector<std::int64_t> patches;
  std::int64_t heads;
  std::string attention;
  std::vector<std::int64_t> window, window_stride;
  bool per_sample_embedding;
  static void declare(Schema<PatchGroupOptions>& s) {
    s.field("patches", &PatchGroupOptions::patches, "[n, m]: the feature is cut into n x m patches")
        .default_value(std::vector<std::int64_t>{16, 16})
        .at_least(1);
    s.field("heads", &PatchGroupOptions::heads,
            "attention groups: over the stacked patch channels (stack), over each patch's channels (batch, loop); "
            "spatial has one per window")
        .default_value(64)
        .at_least(1);
    s.field("attention", &PatchGroupOptions::attention,
            "stack: the patches stacked along channels, one attention over kh*kw positions (the published runs); "
            "batch: each patch attends on its own, loss the mean over patches; loop: the same, loss summed over "
            "patches (the published default when no type is given); spatial: windows of patches stacked, one head "
            "per window")
        .default_value(std::string("stack"))
        .one_of({"stack", "batch", "loop", "spatial"});
    s.field("window", &PatchGroupOptions::window, "spatial: [sp_h, sp_w] patches per window")
        .default_value(std::vector<std::int64_t>{2, 2})
        .at_least(1);
    s.field("window_stride", &PatchGroupOptions::window_stride,
            "spatial: [sp_hs, sp_ws] patches between windows (0: the window's size; smaller strides overlap)")
        .default_value(std::vector<std::int64_t>{0, 0})
        .at_least(0);
    s.field("per_sample_embedding", &PatchGroupOptions::per_sample_embedding,
            "BatchNorm of the embeddings over each sample alone (the published run's quirk)")
        .default_value(false);
  }
};

struct AnchorPointOptions {
  std::vector<std::int64_t> anchors;
  std::int64_t heads;
  bool per_sample_embedding;
  static void declare(Schema<AnchorPointOptions>& s) {
    s.field("anchors", &AnchorPointOptions::anchors, "[h, w]: pooled anchor grid")
        .default_value(std::vector<std::int64_t>{32, 32})
        .at_least(1);
    s.field("heads", &AnchorPointOptions::heads,
            "attention groups over the channels (1 in the published runs; its spatial attention sets the window count)")
        .default_value(1)
        .at_least(1);
    s.field("per_sample_embedding", &AnchorPointOptions::per_sample_embedding,
            "BatchNorm of the embeddings over each sample alone (the published run's quirk)")
        .default_value(false);
  }
};

// The embeddings of a feature pair, shared between the TaT distillers attached to it,
// registered as `distiller`'s embed_query / embed_key / embed_value.
std::shared_ptr<TatEmbedding> attach_embedding(Distiller& distiller, const DistillerContext& context, bool per_sample);

class PatchGroupDistiller : public PairDistiller {
 public:
  PatchGroupDistiller(const PatchGroupOptions& options, const DistillerContext& context);
  DistillLosses forward(const at::Tensor& student, const at::Tensor& teacher) override;

 private:
  PatchGroupOptions options_;
  DistillerContext context_;
  std::shared_ptr<TatEmbedding> embedding_;
  std::int64_t group_ = 0;  // stack: whole patches per head, 0 when heads split patches
  // spatial: [sp_h, sp_w, sp_hs, sp_ws] and the window grid Gh x Gw
  std::array<std::int64_t, 4> window_{};
  std::int64_t window_rows_ = 0, window_cols_ = 0;
};

class AnchorPointDistiller : public PairDistiller {
 public:
  AnchorPointDistiller(const AnchorPointOptions& options, const DistillerContext& context);
  DistillLosses forward(const at::Tensor& student, const at::Tensor& teacher) override;

 private:
  AnchorPointOptions options_;
  DistillerContext context_;
  std::shared_ptr<TatEmbedding> embedding_;
};

}  // namespace segdistill::tat
