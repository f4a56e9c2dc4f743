#include "tat_embedding.hpp"

#include "batched_matmul.hpp"

namespace segdistill::tat {

ConvNorm::ConvNorm(std::int64_t in, std::int64_t out) {
  conv2d = register_module("conv2d", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).bias(false)));
  norm = register_module("norm", segdistill::BatchNorm2d(out));
}

torch::Tensor ConvNorm::forward(const torch::Tensor& x, bool per_sample) {
  const torch::Tensor y = conv2d(x);
  return per_sample && is_training() ? per_sample_norm(y) : norm(y);
}

torch::Tensor ConvNorm::per_sample_norm(const torch::Tensor& x) {
  const auto& o = norm->options;
  const torch::Tensor mean = x.mean({2, 3}, /*keepdim=*/true);
  const torch::Tensor var = x.var({2, 3}, /*unbiased=*/false, /*keepdim=*/true);
  torch::Tensor y = (x - mean) / torch::sqrt(var + o.eps());
  y = y * norm->weight.view({1, -1, 1, 1}) + norm->bias.view({1, -1, 1, 1});
  // The running statistics move once per sample, in batch order, as N calls would move them.
  torch::NoGradGuard no_grad;
  const double m = o.momentum().value();
  const std::int64_t positions = x.size(2) * x.size(3);
  const torch::Tensor means = mean.flatten(1);
  const torch::Tensor unbiased = var.flatten(1) * (static_cast<double>(positions) / std::max<std::int64_t>(1, positions - 1));
  for (std::int64_t n = 0; n < x.size(0); ++n) {
    norm->running_mean.mul_(1 - m).add_(means[n], m);
    norm->running_var.mul_(1 - m).add_(unbiased[n], m);
  }
  norm->num_batches_tracked.add_(x.size(0));
  return y;
}

TatEmbedding::TatEmbedding(std::int64_t student_channels, std::int64_t teacher_channels, bool per_sample)
    : per_sample_(per_sample) {
  embed_query = register_module("embed_query", std::make_shared<ConvNorm>(student_channels, teacher_channels));
  embed_key = register_module("embed_key", std::make_shared<ConvNorm>(teacher_channels, teacher_channels));
  embed_value = register_module("embed_value", std::make_shared<ConvNorm>(student_channels, teacher_channels));
}

Embedded TatEmbedding::embed(const torch::Tensor& student, const torch::Tensor& teacher) {
  const bool cached = last_student_.defined() && last_student_.is_same(student) && last_teacher_.is_same(teacher);
  if (!cached) {
    last_student_ = student;
    last_teacher_ = teacher;
    last_ = {embed_query->forward(student, per_sample_), embed_key->forward(teacher, per_sample_),
             embed_value->forward(student, per_sample_)};
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
