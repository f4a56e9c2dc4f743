#include "engine/optimizer_state.hpp"

#include <charconv>
#include <sstream>
#include <type_traits>

#include "segdistill/core/error.hpp"

namespace segdistill {

namespace {

const std::string kMomentum = "momentum_buffer.";

// LibTorch keys an optimizer's per-parameter state by the parameter's TensorImpl: by its
// printed address up to LibTorch 2.0, by the pointer itself since.
using StateKey = std::decay_t<decltype(std::declval<torch::optim::SGD&>().state())>::key_type;
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

}  // namespace

TensorDict sgd_state(const torch::optim::SGD& optimizer) {
  TensorDict out;
  const auto& groups = optimizer.param_groups();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto& params = groups[g].params();
    for (std::size_t i = 0; i < params.size(); ++i) {
      auto found = optimizer.state().find(state_key(params[i]));
      if (found == optimizer.state().end()) continue;
      const auto& state = static_cast<const torch::optim::SGDParamState&>(*found->second);
      if (state.momentum_buffer().defined())
        out[kMomentum + std::to_string(g) + "." + std::to_string(i)] = state.momentum_buffer();
    }
  }
  return out;
}

void load_sgd_state(torch::optim::SGD& optimizer, const TensorDict& tensors, const std::string& source) {
  const auto& groups = optimizer.param_groups();
  std::vector<std::pair<const at::Tensor*, at::Tensor>> buffers;
  for (const auto& [name, tensor] : tensors) {
    const auto bad = [&](const std::string& why) {
      throw Error(source + ": optimizer state '" + name + "': " + why +
                  "; the checkpoint was written by a run with other parameters or is corrupt");
    };
    if (name.rfind(kMomentum, 0) != 0) bad("unknown entry (valid: momentum_buffer.GROUP.INDEX)");
    const std::string_view rest = std::string_view(name).substr(kMomentum.size());
    const std::size_t dot = rest.find('.');
    std::size_t g = 0, i = 0;
    if (dot == std::string_view::npos || !parse_index(rest.substr(0, dot), g) || !parse_index(rest.substr(dot + 1), i))
      bad("unknown entry (valid: momentum_buffer.GROUP.INDEX)");
    if (g >= groups.size() || i >= groups[g].params().size())
      bad("no such parameter (the optimizer has " + std::to_string(groups.size()) + " groups)");
    const at::Tensor& parameter = groups[g].params()[i];
    if (!tensor.sizes().equals(parameter.sizes()))
      bad("shape " + shape_text(tensor) + ", the parameter's is " + shape_text(parameter));
    if (!tensor.is_floating_point()) bad("not a floating-point tensor");
    buffers.emplace_back(&parameter, tensor.to(parameter.options()).clone());
  }
  optimizer.state().clear();
  for (auto& [parameter, buffer] : buffers) {
    auto state = std::make_unique<torch::optim::SGDParamState>();
    state->momentum_buffer(std::move(buffer));
    optimizer.state()[state_key(*parameter)] = std::move(state);
  }
}

}  // namespace segdistill
