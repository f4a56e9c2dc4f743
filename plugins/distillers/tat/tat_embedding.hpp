#pragma once
// TaT's three embeddings (a bias-free 1x1 convolution and a BatchNorm each), shared by
// the patch-group and anchor-point terms attached to one feature pair.
#include <array>
#include <optional>

#include <torch/torch.h>

#include "row_layout.hpp"
#include "segdistill/modeling/batch_norm.hpp"

namespace segdistill::tat {

// conv2d (1x1, no bias) + norm (BatchNorm2d): parameter names embed_*.conv2d.weight,
// embed_*.norm.{weight,bias,running_mean,running_var} as the published code has them.
class ConvNorm : public torch::nn::Module {
 public:
  ConvNorm(std::int64_t in, std::int64_t out);
  // With `per_sample` in training mode, BatchNorm statistics come from each sample's
  // own positions (the published per-sample loop), computed for the whole batch at once.
  torch::Tensor forward(const torch::Tensor& x, bool per_sample);
  // The same on N x P x C rows (channels last): one matrix product, and BatchNorm over
  // all rows of the batch.
  torch::Tensor forward_rows(const torch::Tensor& rows, bool per_sample);

 private:
  torch::Tensor per_sample_norm(const torch::Tensor& x, std::int64_t channel_dim);
  torch::nn::Conv2d conv2d{nullptr};
  segdistill::BatchNorm2d norm{nullptr};
};

struct Embedded {
  // query, key, value and target (the teacher feature) as rows in this layout, or, with
  // none, as N x Ct x H x W.
  std::optional<RowLayout> layout;
  torch::Tensor query, key, value, target;
  // The same as N x Ct x H x W (a differentiable conversion of query, key and value when
  // in rows); `teacher` is the target's N x Ct x H x W form, which needs no conversion.
  Embedded nchw(const torch::Tensor& teacher) const;
};

class TatEmbedding : public torch::nn::Module {
 public:
  TatEmbedding(std::int64_t student_channels, std::int64_t teacher_channels, bool per_sample);
  // q = embed_query(f_s), k = embed_key(f_t), v = embed_value(f_s). Computed once per
  // pair of feature tensors for all the distillers attached: the second term of a step
  // reuses the first's result, so BatchNorm statistics move once per step, as in the
  // published code. The result is dropped once every attached distiller has taken it.
  Embedded embed(const torch::Tensor& student, const torch::Tensor& teacher);
  // A distiller that will call embed() once per step.
  void attach() { ++users_; }
  // Asks for the embeddings in rows of an n x m patch grid with `group` patches per head
  // (the patch-group term) or, where no such request fits the feature, of an anchor grid
  // (so that each anchor cell is one patch). The first request of each kind is kept; a
  // distiller that finds another layout converts.
  void request_patch_rows(std::int64_t n, std::int64_t m, std::int64_t group);
  void request_anchor_rows(std::int64_t anchors_h, std::int64_t anchors_w);
  bool per_sample() const { return per_sample_; }
  std::shared_ptr<ConvNorm> embed_query, embed_key, embed_value;

 private:
  std::optional<RowLayout> layout_for(const torch::Tensor& feature) const;
  bool per_sample_;
  std::optional<std::array<std::int64_t, 3>> patch_request_;
  std::optional<std::array<std::int64_t, 2>> anchor_request_;
  int users_ = 0;
  int taken_ = 0;
  torch::Tensor last_student_, last_teacher_;  // held, so their identity cannot be reused
  Embedded last_;
};

// Softmax attention without 1/sqrt(d) scaling over positions, per head: q, k, v are
// N x heads x P x d (contiguous, so that every matrix product forward and backward runs
// as a plain GEMM); returns N x heads x P x d.
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

}  // namespace segdistill::tat
