#pragma once
// The conventions the CIRKD toolbox's losses share: its L2 normalisation, its KL
// divergence ("batchmean" over rows) and the shape checks every loss needs.
#include <torch/torch.h>

#include "segdistill/sdk.hpp"

namespace segdistill::cirkd {

// The help of the `gcn` option of the distillers that can distil CIRKDV2's adaptor output.
inline const char* const kGcnOptionHelp =
    "distil the output of CIRKDV2's GCN adaptor on the student feature (shared by the distillers on that feature) "
    "instead of the feature: what its scripts do whenever lambda_fitnet is not 0";

// v / max(|v|_2, eps) along `dim` (PyTorch's normalize; its cosine_similarity uses eps 1e-8).
at::Tensor unit(const at::Tensor& v, std::int64_t dim, double eps = 1e-12);

// sum P (log P - log Q) over every entry, entries with P = 0 adding 0 (PyTorch's kl_div
// with a probability target), divided by `rows`.
at::Tensor kl_sum(const at::Tensor& p, const at::Tensor& log_q, double rows);

// T^2 KL(softmax(t X^T / (tau T)) || softmax(s X^T / (tau T))) summed over the rows of
// s, t (rows x D) and divided by `divisor`: the memory terms, X the drawn memory rows.
at::Tensor memory_kl(const at::Tensor& s, const at::Tensor& t, const at::Tensor& memory, double tau, double kd_temperature,
                     double divisor);

// The toolbox's projection head of its memory terms: 1x1 conv in -> out (no bias),
// BatchNorm, ReLU, 1x1 conv out -> out (no bias); state-dict names 0, 1, 3.
torch::nn::Sequential projection_head(std::int64_t in, std::int64_t out);

// The labels (B, H, W) resized to h x w as PyTorch's 'nearest' does: source index
// floor(dst * (in / out)), with the ratio in float32 (512 -> 64 keeps rows 0, 8, 16, ...).
at::Tensor nearest_labels(const at::Tensor& labels, std::int64_t h, std::int64_t w);

// Error naming the distiller unless both are N x C x H x W of one batch, and (when
// `same_size`) of one H x W.
void require_maps(const at::Tensor& s, const at::Tensor& t, const DistillerContext& c, const std::string& type,
                  bool same_size = true);

// Error naming the distiller unless `labels` is B x H x W (int64) of the features' batch.
void require_labels(const at::Tensor& labels, const at::Tensor& features, const DistillerContext& c, const std::string& type);

// Error naming the distiller unless the student's and the teacher's features have one
// channel count (what `compares` compares: "class scores", ...).
void require_same_channels(const DistillerContext& c, const std::string& type, const std::string& compares);

}  // namespace segdistill::cirkd
