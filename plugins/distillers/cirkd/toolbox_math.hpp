#pragma once
// The conventions the CIRKD toolbox's losses share: its L2 normalisation, its KL
// divergence ("batchmean" over rows) and the shape checks every loss needs.
#include <torch/torch.h>

#include "segdistill/sdk.hpp"

namespace segdistill::cirkd {

// v / max(|v|_2, 1e-12) along `dim`.
at::Tensor unit(const at::Tensor& v, std::int64_t dim);

// sum P (log P - log Q) over every entry, entries with P = 0 adding 0 (PyTorch's kl_div
// with a probability target), divided by `rows`.
at::Tensor kl_sum(const at::Tensor& p, const at::Tensor& log_q, double rows);

// Error naming the distiller unless both are N x C x H x W of one batch, and (when
// `same_size`) of one H x W.
void require_maps(const at::Tensor& s, const at::Tensor& t, const DistillerContext& c, const std::string& type,
                  bool same_size = true);

// Error naming the distiller unless the student's and the teacher's features have one
// channel count (what `compares` compares: "class scores", ...).
void require_same_channels(const DistillerContext& c, const std::string& type, const std::string& compares);

}  // namespace segdistill::cirkd
