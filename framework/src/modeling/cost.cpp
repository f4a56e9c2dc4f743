#include "segdistill/modeling/cost.hpp"

#include <ATen/record_function.h>

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "segdistill/core/error.hpp"

namespace segdistill {

namespace {

// The counting state of the one forward pass being measured. RecordFunction callbacks
// are plain function pointers, so it lives here; measure_cost runs one pass at a time on
// its thread (the callback is thread-local).
struct Counter {
  std::unordered_map<const void*, std::string> owner_of_weight;  // data pointer -> module path
  std::map<std::string, std::int64_t> by_module;
  std::int64_t unattributed = 0;
  int counted_depth = 0;  // > 0 inside a counted op: its inner ops (addmm in linear, ...) are not counted again
  int op_depth = 0;       // operations open now: outputs count at depth 1 only
  std::int64_t activation_bytes = 0;
};
thread_local Counter* active = nullptr;

bool is_counted(const char* name) {
  static const std::unordered_set<std::string> ops{"aten::convolution", "aten::linear", "aten::mm",
                                                   "aten::bmm",         "aten::addmm",  "aten::matmul"};
  return ops.count(name) != 0;
}

std::int64_t product(c10::IntArrayRef sizes, std::size_t from = 0) {
  std::int64_t p = 1;
  for (std::size_t i = from; i < sizes.size(); ++i) p *= sizes[i];
  return p;
}

// Multiply-adds of one counted op from its inputs, and the weight it uses (or null).
std::pair<std::int64_t, const void*> cost_of(const at::RecordFunction& fn) {
  const std::string name = fn.name();
  const auto inputs = fn.inputs();
  auto tensor = [&](std::size_t i) { return i < inputs.size() && inputs[i].isTensor() ? inputs[i].toTensor() : at::Tensor(); };
  const at::Tensor a = tensor(0), b = tensor(1);
  if (!a.defined() || !b.defined()) return {0, nullptr};
  if (name == "aten::convolution") {
    // weight [out, in / groups, k...]; output positions from the input, padding, stride, dilation.
    const auto stride = inputs[3].toIntVector(), padding = inputs[4].toIntVector(), dilation = inputs[5].toIntVector();
    const bool transposed = inputs[6].toBool();
    std::int64_t positions = 1;
    for (std::size_t d = 0; d + 2 < static_cast<std::size_t>(a.dim()); ++d) {
      const std::int64_t in = a.size(static_cast<std::int64_t>(d + 2)), k = b.size(static_cast<std::int64_t>(d + 2));
      positions *= transposed ? in : (in + 2 * padding[d] - dilation[d] * (k - 1) - 1) / stride[d] + 1;
    }
    // weight [out, in / groups, k...] (transposed: [in, out / groups, k...]): the same
    // product per position, at the output positions (transposed: the input positions).
    return {a.size(0) * positions * product(b.sizes()), b.data_ptr()};
  }
  if (name == "aten::linear") return {a.numel() / a.size(-1) * b.size(0) * b.size(1), b.data_ptr()};
  if (name == "aten::addmm") {
    const at::Tensor m1 = b, m2 = tensor(2);
    if (!m2.defined()) return {0, nullptr};
    return {m1.size(0) * m1.size(1) * m2.size(1), m2.data_ptr()};
  }
  if (name == "aten::mm") return {a.size(0) * a.size(1) * b.size(1), b.data_ptr()};
  if (name == "aten::bmm") return {a.size(0) * a.size(1) * a.size(2) * b.size(2), b.data_ptr()};
  // matmul: every output element is one dot product of length `inner`; batch dimensions broadcast.
  const std::int64_t inner = a.size(-1);
  const std::int64_t rows = a.dim() >= 2 ? a.size(-2) : 1, columns = b.dim() >= 2 ? b.size(-1) : 1;
  const std::int64_t batch = std::max(a.dim() > 2 ? product(a.sizes()) / (rows * inner) : 1,
                                      b.dim() > 2 ? product(b.sizes()) / (b.size(-2) * columns) : 1);
  return {batch * rows * columns * inner, b.data_ptr()};
}

// The bytes of an operation's outputs that are new memory (not one of its inputs, a view
// of one, or an in-place result).
std::int64_t new_output_bytes(const at::RecordFunction& fn) {
  std::int64_t bytes = 0;
  for (const auto& output : fn.outputs()) {
    if (!output.isTensor()) continue;
    const at::Tensor& t = output.toTensor();
    if (!t.defined() || !t.has_storage()) continue;
    bool aliased = false;
    for (const auto& input : fn.inputs())
      if (input.isTensor() && input.toTensor().defined() && input.toTensor().has_storage() &&
          input.toTensor().storage().is_alias_of(t.storage()))
        aliased = true;
    if (!aliased) bytes += static_cast<std::int64_t>(t.numel() * t.element_size());
  }
  return bytes;
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  if (active == nullptr) return nullptr;
  ++active->op_depth;
  if (!is_counted(fn.name())) return nullptr;
  if (active->counted_depth++ > 0) return nullptr;
  const auto [macs, weight] = cost_of(fn);
  auto owner = weight != nullptr ? active->owner_of_weight.find(weight) : active->owner_of_weight.end();
  if (owner == active->owner_of_weight.end())
    active->unattributed += macs;
  else
    active->by_module[owner->second] += macs;
  return nullptr;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext*) {
  if (active == nullptr) return;
  if (active->op_depth-- == 1) active->activation_bytes += new_output_bytes(fn);
  if (is_counted(fn.name())) --active->counted_depth;
}

int depth_of(const std::string& name) {
  return name.empty() ? 0 : 1 + static_cast<int>(std::count(name.begin(), name.end(), '.'));
}

bool is_within(const std::string& name, const std::string& module) {
  return module.empty() || name == module ||
         (name.size() > module.size() && name.compare(0, module.size(), module) == 0 && name[module.size()] == '.');
}

}  // namespace

NetworkCost measure_cost(Segmentor& network, std::int64_t height, std::int64_t width, int max_depth) {
  if (height < 1 || width < 1 || height > 16384 || width > 16384)
    throw Error("input size " + std::to_string(height) + "x" + std::to_string(width) + ": expected 1 to 16384 pixels a side");
  Counter counter;
  // Each tensor under its first (registration-order) module: MobileNetV2 shares modules
  // under several names and must count once.
  auto& first_owner = counter.owner_of_weight;
  std::vector<std::string> module_names;
  for (const auto& item : network.named_modules("", /*include_self=*/true)) {
    for (const auto& p : item.value()->named_parameters(/*recurse=*/false)) first_owner.emplace(p.value().data_ptr(), item.key());
    module_names.push_back(item.key());
  }

  NetworkCost cost;
  std::unordered_set<const void*> seen;
  std::unordered_map<const void*, std::int64_t> numel;
  for (const auto& p : network.parameters())
    if (seen.insert(p.data_ptr()).second) {
      cost.parameters += p.numel();
      numel[p.data_ptr()] = p.numel();
    }

  // Counting on for one forward pass in eval mode; everything restored on the way out.
  struct Counting {
    Segmentor& network;
    bool was_training;
    at::CallbackHandle handle;
    Counting(Segmentor& n, Counter& c) : network(n), was_training(n.is_training()) {
      network.eval();
      active = &c;
      handle = at::addThreadLocalCallback(at::RecordFunctionCallback(on_start, on_end).needsInputs(true).needsOutputs(true));
    }
    ~Counting() {
      at::removeCallback(handle);
      active = nullptr;
      network.train(was_training);
    }
    Counting(const Counting&) = delete;
    Counting& operator=(const Counting&) = delete;
  };
  const c10::Device device = network.parameters().empty() ? c10::Device(c10::kCPU) : network.parameters().front().device();
  try {
    Counting counting(network, counter);
    at::NoGradGuard no_grad;
    network.forward(at::zeros({1, 3, height, width}, at::TensorOptions().device(device)));
  } catch (const std::exception& e) {
    throw Error("input size " + std::to_string(height) + "x" + std::to_string(width) +
                ": the network cannot run at it: " + e.what());
  }

  cost.activation_bytes = counter.activation_bytes;
  cost.unattributed_multiply_adds = counter.unattributed;
  cost.multiply_adds = counter.unattributed;
  for (const auto& entry : counter.by_module) cost.multiply_adds += entry.second;
  std::unordered_set<std::string> listed;
  for (const auto& name : module_names) {
    if (depth_of(name) > max_depth || !listed.insert(name).second) continue;
    ModuleCost row{name, depth_of(name), 0, 0};
    for (const auto& [tensor, owner] : first_owner)
      if (is_within(owner, name)) row.parameters += numel.at(tensor);
    for (const auto& [module, macs] : counter.by_module)
      if (is_within(module, name)) row.multiply_adds += macs;
    if (name.empty()) row.multiply_adds += counter.unattributed;
    cost.modules.push_back(row);
  }
  return cost;
}

}  // namespace segdistill
