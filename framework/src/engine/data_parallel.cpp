#include "engine/data_parallel.hpp"

#include <unordered_set>

#include <torch/torch.h>

namespace segdistill {

DataParallel::DataParallel(std::shared_ptr<Collectives> collectives, std::vector<at::Tensor> parameters, std::size_t bucket_bytes)
    : collectives_(std::move(collectives)),
      parameters_(std::move(parameters)),
      bucket_bytes_(std::max<std::size_t>(bucket_bytes, 1)) {}

void DataParallel::broadcast_state(const std::vector<torch::nn::Module*>& modules) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> state;
  std::unordered_set<const void*> seen;  // modules registered under several names appear more than once
  const auto add = [&](const at::Tensor& t) {
    if (seen.insert(t.unsafeGetTensorImpl()).second) state.push_back(t.detach());
  };
  for (torch::nn::Module* m : modules) {
    for (const auto& p : m->parameters()) add(p);
    for (const auto& b : m->buffers()) add(b);
  }
  collectives_->broadcast(state, 0);
}

void DataParallel::average_gradients() {
  torch::NoGradGuard no_grad;
  // Which parameters have gradients depends only on the graph, the same on every rank.
  std::vector<at::Tensor> grads;
  for (const auto& p : parameters_)
    if (p.grad().defined()) grads.push_back(p.grad());
  std::vector<at::Tensor> buckets;
  std::vector<std::vector<at::Tensor>> members;
  std::size_t bytes = bucket_bytes_;
  for (const auto& g : grads) {
    const std::size_t size = static_cast<std::size_t>(g.numel()) * g.element_size();
    const bool same_kind = !members.empty() && members.back().front().scalar_type() == g.scalar_type() &&
                           members.back().front().device() == g.device();
    if (bytes + size > bucket_bytes_ || !same_kind) {
      members.emplace_back();
      bytes = 0;
    }
    members.back().push_back(g);
    bytes += size;
  }
  for (const auto& group : members) {
    std::vector<at::Tensor> flat;
    for (const auto& g : group) flat.push_back(g.reshape(-1));
    buckets.push_back(torch::cat(flat));
  }
  if (buckets.empty()) return;
  collectives_->all_reduce_sum(buckets);
  const double scale = 1.0 / collectives_->world_size();
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    std::int64_t offset = 0;
    for (auto& g : members[b]) {
      g.copy_(buckets[b].narrow(0, offset, g.numel()).view_as(g)).mul_(scale);
      offset += g.numel();
    }
  }
}

}  // namespace segdistill
