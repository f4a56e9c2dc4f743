#include "tat_embedding.hpp"

#include "batched_matmul.hpp"
#include "row_linear.hpp"

namespace segdistill::tat {

ConvNorm::ConvNorm(std::int64_t in, std::int64_t out) {
  conv2d = register_module("conv2d", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).bias(false)));
  norm = register_module("norm", segdistill::BatchNorm2d(out));
}

torch::Tensor ConvNorm::forward(const torch::Tensor& x, bool per_sample) {
  const torch::Tensor y = conv2d(x);
  return per_sample && is_training() ? per_sample_norm(y, 1) : norm(y);
}

torch::Tensor ConvNorm::forward_rows(const torch::Tensor& rows, bool per_sample) {
  const torch::Tensor y = row_linear(rows, conv2d->weight.flatten(1));
  if (per_sample && is_training()) return per_sample_norm(y, 2);
  // BatchNorm2d on a 1 x C x rows x 1 view, which is channels-last contiguous: LibTorch
  // normalises it in place of layout and returns it channels last, so the view back to
  // rows is free.
  const std::int64_t channels = y.size(2);
  const torch::Tensor image = y.view({-1, channels}).t().unsqueeze(0).unsqueeze(3);
  return norm(image).squeeze(3).squeeze(0).t().reshape(y.sizes());
}

// BatchNorm over each sample's positions alone, the running statistics moving once per
// sample in batch order, as N calls of the published embedding on one sample each move
// them: LibTorch's own BatchNorm kernels on each sample's 1 x C x positions x 1 view (one
// vectorised pass for the statistics, one for the output, and as few backward),
// not a per-sample reduction written out in tensor operations (7% of a VOC TaT step).
// Never synchronised over ranks: the statistics are one sample's.
torch::Tensor ConvNorm::per_sample_norm(const torch::Tensor& x, std::int64_t channel_dim) {
  const auto& o = norm->options;
  const std::int64_t channels = x.size(channel_dim);
  std::vector<torch::Tensor> samples;
  // unbind, not x[n]: its backward stacks the samples' gradients once, where each
  // selection's would write a zero tensor of the whole batch.
  for (const torch::Tensor& sample : x.unbind(0)) {
    const torch::Tensor image =
        channel_dim == 1 ? sample.unsqueeze(0) : sample.reshape({-1, channels}).t().unsqueeze(0).unsqueeze(3);
    const torch::Tensor y = torch::batch_norm(image, norm->weight, norm->bias, norm->running_mean, norm->running_var,
                                              /*training=*/true, o.momentum().value(), o.eps(), /*cudnn_enabled=*/false);
    samples.push_back(channel_dim == 1 ? y.squeeze(0) : y.squeeze(3).squeeze(0).t().reshape(sample.sizes()));
  }
  {
    torch::NoGradGuard no_grad;
    norm->num_batches_tracked.add_(x.size(0));
  }
  return torch::stack(samples);
}

TatEmbedding::TatEmbedding(std::int64_t student_channels, std::int64_t teacher_channels, bool per_sample)
    : per_sample_(per_sample) {
  embed_query = register_module("embed_query", std::make_shared<ConvNorm>(student_channels, teacher_channels));
  embed_key = register_module("embed_key", std::make_shared<ConvNorm>(teacher_channels, teacher_channels));
  embed_value = register_module("embed_value", std::make_shared<ConvNorm>(student_channels, teacher_channels));
}

void TatEmbedding::request_patch_rows(std::int64_t n, std::int64_t m, std::int64_t group) {
  if (!patch_request_) patch_request_ = {n, m, group};
}

void TatEmbedding::request_anchor_rows(std::int64_t anchors_h, std::int64_t anchors_w) {
  if (!anchor_request_) anchor_request_ = {anchors_h, anchors_w};
}

std::optional<RowLayout> TatEmbedding::layout_for(const torch::Tensor& feature) const {
  const std::int64_t h = feature.size(2), w = feature.size(3);
  if (patch_request_ && h >= (*patch_request_)[0] && w >= (*patch_request_)[1])
    return RowLayout{h, w, (*patch_request_)[0], (*patch_request_)[1], (*patch_request_)[2]};
  if (anchor_request_ && h >= (*anchor_request_)[0] && w >= (*anchor_request_)[1])
    return RowLayout{h, w, (*anchor_request_)[0], (*anchor_request_)[1], 1};
  return std::nullopt;
}

Embedded Embedded::nchw(const torch::Tensor& teacher) const {
  if (!layout) return *this;
  return {std::nullopt, from_rows(query, *layout), from_rows(key, *layout), from_rows(value, *layout), teacher};
}

Embedded TatEmbedding::embed(const torch::Tensor& student, const torch::Tensor& teacher) {
  const bool cached = last_student_.defined() && last_student_.is_same(student) && last_teacher_.is_same(teacher);
  if (!cached) {
    last_student_ = student;
    last_teacher_ = teacher;
    if (const auto layout = layout_for(teacher)) {
      const torch::Tensor s = to_rows(student, *layout), t = to_rows(teacher, *layout);
      last_ = {layout, embed_query->forward_rows(s, per_sample_), embed_key->forward_rows(t, per_sample_),
               embed_value->forward_rows(s, per_sample_), t};
    } else {
      last_ = {std::nullopt, embed_query->forward(student, per_sample_), embed_key->forward(teacher, per_sample_),
               embed_value->forward(student, per_sample_), teacher};
    }
    taken_ = 0;
  }
  Embedded result = last_;
  if (++taken_ >= users_) {  // every attached distiller has it: the next call computes anew
    last_student_ = last_teacher_ = torch::Tensor();
    last_ = {};
  }
  return result;
}

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  return batched_matmul(torch::softmax(batched_matmul(q, k.transpose(-1, -2)), -1), v);
}

}  // namespace segdistill::tat
