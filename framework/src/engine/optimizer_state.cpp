#include "engine/optimizer_state.hpp"

#include <charconv>
#include <map>
#include <sstream>
#include <type_traits>

#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include "segdistill/core/error.hpp"

namespace segdistill {

namespace {

const std::string kMomentum = "momentum_buffer.";
const std::string kExpAvg = "exp_avg.";
const std::string kExpAvgSq = "exp_avg_sq.";
const std::string kStep = "step.";

// LibTorch keys an optimizer's per-parameter state by the parameter's TensorImpl: by its
// printed address up to LibTorch 2.0, by the pointer itself since.
using StateKey = std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>::key_type;
[[maybe_unused]] void set_key(std::string& key, void* impl) {
  std::ostringstream address;
  address << impl;
  key = address.str();
}
[[maybe_unused]] void set_key(void*& key, void* impl) { key = impl; }
StateKey state_key(const at::Tensor& parameter) {
  StateKey key{};
  set_key(key, parameter.unsafeGetTensorImpl());
  return key;
}

bool parse_index(std::string_view text, std::size_t& out) {
  if (text.empty() || text.size() > 9) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

std::string index_of(std::size_t group, std::size_t parameter) { return std::to_string(group) + "." + std::to_string(parameter); }

// An entry's kind (its prefix) and its parameter, parsed and checked against the groups.
struct Entry {
  std::string kind;
  const at::Tensor* parameter = nullptr;
};

}  // namespace

TensorDict optimizer_state(const torch::optim::Optimizer& optimizer) {
  const bool adamw = dynamic_cast<const torch::optim::AdamW*>(&optimizer) != nullptr;
  TensorDict out;
  const auto& groups = optimizer.param_groups();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto& params = groups[g].params();
    for (std::size_t i = 0; i < params.size(); ++i) {
      auto found = optimizer.state().find(state_key(params[i]));
      if (found == optimizer.state().end()) continue;
      const std::string index = index_of(g, i);
      if (adamw) {
        const auto& state = static_cast<const torch::optim::AdamWParamState&>(*found->second);
        out[kExpAvg + index] = state.exp_avg();
        out[kExpAvgSq + index] = state.exp_avg_sq();
        out[kStep + index] = torch::tensor(state.step(), torch::kLong);
      } else {
        const auto& state = static_cast<const torch::optim::SGDParamState&>(*found->second);
        if (state.momentum_buffer().defined()) out[kMomentum + index] = state.momentum_buffer();
      }
    }
  }
  return out;
}

void load_optimizer_state(torch::optim::Optimizer& optimizer, const TensorDict& tensors, const std::string& source) {
  const bool adamw = dynamic_cast<torch::optim::AdamW*>(&optimizer) != nullptr;
  const std::vector<std::string> kinds =
      adamw ? std::vector<std::string>{kExpAvg, kExpAvgSq, kStep} : std::vector<std::string>{kMomentum};
  const std::string valid =
      adamw ? "exp_avg.GROUP.INDEX, exp_avg_sq.GROUP.INDEX, step.GROUP.INDEX (AdamW)" : "momentum_buffer.GROUP.INDEX (SGD)";
  const auto& groups = optimizer.param_groups();
  // Per parameter: its entries by kind, checked before anything changes.
  std::map<const at::Tensor*, std::map<std::string, at::Tensor>> per_parameter;
  for (const auto& [name, tensor] : tensors) {
    const auto bad = [&](const std::string& why) {
      throw Error(source + ": optimizer state '" + name + "': " + why +
                  "; the checkpoint was written by a run with another optimizer or other parameters, or is corrupt");
    };
    std::string kind;
    for (const auto& k : kinds)  // the longest prefix: exp_avg_sq. before exp_avg.
      if (name.rfind(k, 0) == 0 && k.size() > kind.size()) kind = k;
    if (kind.empty()) bad("unknown entry (valid: " + valid + ")");
    const std::string_view rest = std::string_view(name).substr(kind.size());
    const std::size_t dot = rest.find('.');
    std::size_t g = 0, i = 0;
    if (dot == std::string_view::npos || !parse_index(rest.substr(0, dot), g) || !parse_index(rest.substr(dot + 1), i))
      bad("unknown entry (valid: " + valid + ")");
    if (g >= groups.size() || i >= groups[g].params().size())
      bad("no such parameter (the optimizer has " + std::to_string(groups.size()) + " groups)");
    const at::Tensor& parameter = groups[g].params()[i];
    if (kind == kStep) {
      if (tensor.dim() != 0 || tensor.scalar_type() != at::kLong || tensor.item<std::int64_t>() < 0)
        bad("not a non-negative int64 scalar");
    } else {
      if (!tensor.sizes().equals(parameter.sizes()))
        bad("shape " + shape_text(tensor) + ", the parameter's is " + shape_text(parameter));
      if (!tensor.is_floating_point()) bad("not a floating-point tensor");
    }
    per_parameter[&parameter][kind] = kind == kStep ? tensor : tensor.to(parameter.options()).clone();
  }
  if (adamw)
    for (const auto& [parameter, entries] : per_parameter)
      if (entries.size() != 3)
        throw Error(source + ": optimizer state: a parameter has " + std::to_string(entries.size()) +
                    " of AdamW's three entries (exp_avg, exp_avg_sq, step); the checkpoint is corrupt");
  optimizer.state().clear();
  for (auto& [parameter, entries] : per_parameter) {
    if (adamw) {
      auto state = std::make_unique<torch::optim::AdamWParamState>();
      state->exp_avg(entries.at(kExpAvg));
      state->exp_avg_sq(entries.at(kExpAvgSq));
      state->step(entries.at(kStep).item<std::int64_t>());
      optimizer.state()[state_key(*parameter)] = std::move(state);
    } else {
      auto state = std::make_unique<torch::optim::SGDParamState>();
      state->momentum_buffer(entries.at(kMomentum));
      optimizer.state()[state_key(*parameter)] = std::move(state);
    }
  }
}

}  // namespace segdistill
