#include "toolbox_math.hpp"

namespace segdistill::cirkd {

namespace {
std::string size_text(const at::Tensor& t) {
  std::string text;
  for (const std::int64_t s : t.sizes()) text += (text.empty() ? "" : " x ") + std::to_string(s);
  return text;
}
}  // namespace

at::Tensor unit(const at::Tensor& v, std::int64_t dim) { return v / v.norm(2, dim, /*keepdim=*/true).clamp_min(1e-12); }

at::Tensor kl_sum(const at::Tensor& p, const at::Tensor& log_q, double rows) {
  return (torch::xlogy(p, p) - p * log_q).sum() / rows;
}

void require_maps(const at::Tensor& s, const at::Tensor& t, const DistillerContext& c, const std::string& type, bool same_size) {
  const bool maps = s.dim() == 4 && t.dim() == 4 && s.size(0) == t.size(0);
  if (maps && (!same_size || (s.size(2) == t.size(2) && s.size(3) == t.size(3)))) return;
  throw Error(c.config_key + ": " + type + " needs N x C x H x W maps of one batch" + (same_size ? " and one H x W" : "") +
              ", but the student's " + c.student().name + " is " + size_text(s) + " and the teacher's " + c.teacher().name +
              " is " + size_text(t) + " (the toolbox distils features of one size: give features of one stride)");
}

void require_same_channels(const DistillerContext& c, const std::string& type, const std::string& compares) {
  if (c.student().channels == c.teacher().channels) return;
  throw Error(c.config_key + ": " + type + " compares " + compares + ", but " + c.student().name + " has " +
              std::to_string(c.student().channels) + " channels and " + c.teacher().name + " " +
              std::to_string(c.teacher().channels));
}

}  // namespace segdistill::cirkd
