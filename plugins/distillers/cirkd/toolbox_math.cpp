#include "toolbox_math.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace segdistill::cirkd {

namespace {
// PyTorch's nearest source index, computed in float32 as it computes it.
at::Tensor nearest_source(std::int64_t in, std::int64_t out) {
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  std::vector<std::int64_t> index(static_cast<std::size_t>(out));
  for (std::int64_t i = 0; i < out; ++i)
    index[static_cast<std::size_t>(i)] = std::min(static_cast<std::int64_t>(std::floor(static_cast<float>(i) * scale)), in - 1);
  return torch::tensor(index, torch::kLong);
}

std::string size_text(const at::Tensor& t) {
  std::string text;
  for (const std::int64_t s : t.sizes()) text += (text.empty() ? "" : " x ") + std::to_string(s);
  return text;
}
}  // namespace

at::Tensor unit(const at::Tensor& v, std::int64_t dim, double eps) { return v / v.norm(2, dim, /*keepdim=*/true).clamp_min(eps); }

at::Tensor kl_sum(const at::Tensor& p, const at::Tensor& log_q, double rows) {
  return (torch::xlogy(p, p) - p * log_q).sum() / rows;
}

at::Tensor memory_kl(const at::Tensor& s, const at::Tensor& t, const at::Tensor& memory, double tau, double kd_temperature,
                     double divisor) {
  const double scale = 1.0 / (tau * kd_temperature);
  const at::Tensor p_t = torch::softmax(torch::matmul(t, memory.t()) * scale, 1);
  const at::Tensor log_q = torch::log_softmax(torch::matmul(s, memory.t()) * scale, 1);
  return kd_temperature * kd_temperature * kl_sum(p_t, log_q, divisor);
}

torch::nn::Sequential projection_head(std::int64_t in, std::int64_t out) {
  return torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).bias(false)), BatchNorm2d(out),
                               torch::nn::ReLU(), torch::nn::Conv2d(torch::nn::Conv2dOptions(out, out, 1).bias(false)));
}

at::Tensor nearest_labels(const at::Tensor& labels, std::int64_t h, std::int64_t w) {
  const at::Tensor rows = nearest_source(labels.size(1), h).to(labels.device());
  const at::Tensor columns = nearest_source(labels.size(2), w).to(labels.device());
  return labels.index_select(1, rows).index_select(2, columns);
}

void require_maps(const at::Tensor& s, const at::Tensor& t, const DistillerContext& c, const std::string& type, bool same_size) {
  const bool maps = s.dim() == 4 && t.dim() == 4 && s.size(0) == t.size(0);
  if (maps && (!same_size || (s.size(2) == t.size(2) && s.size(3) == t.size(3)))) return;
  throw Error(c.config_key + ": " + type + " needs N x C x H x W maps of one batch" + (same_size ? " and one H x W" : "") +
              ", but the student's " + c.student().name + " is " + size_text(s) + " and the teacher's " + c.teacher().name +
              " is " + size_text(t) + " (the toolbox distils features of one size: give features of one stride)");
}

void require_labels(const at::Tensor& labels, const at::Tensor& features, const DistillerContext& c, const std::string& type) {
  if (labels.dim() == 3 && labels.size(0) == features.size(0) && labels.scalar_type() == at::kLong) return;
  throw Error(c.config_key + ": " + type + " needs the batch's labels as B x H x W int64 for " +
              std::to_string(features.size(0)) + " images, but got " + size_text(labels) + " " +
              std::string(c10::toString(labels.scalar_type())));
}

void require_same_channels(const DistillerContext& c, const std::string& type, const std::string& compares) {
  if (c.student().channels == c.teacher().channels) return;
  throw Error(c.config_key + ": " + type + " compares " + compares + ", but " + c.student().name + " has " +
              std::to_string(c.student().channels) + " channels and " + c.teacher().name + " " +
              std::to_string(c.teacher().channels));
}

}  // namespace segdistill::cirkd
