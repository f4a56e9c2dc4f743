#include "segdistill/checkpoint.hpp"

#include <fstream>
#include <iterator>

#include <torch/serialize.h>
#include <torch/torch.h>

#include "atomic_file.hpp"
#include "segdistill/error.hpp"

namespace segdistill {

namespace {

const char* kMagic = "segdistill_checkpoint";

c10::IValue to_ivalue(const Checkpoint& checkpoint) {
  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  root.insert("format", std::string(kMagic));
  root.insert("format_version", checkpoint.format_version);
  root.insert("iteration", checkpoint.iteration);
  c10::impl::GenericDict groups(c10::StringType::get(), c10::AnyType::get());
  for (const auto& [group, tensors] : checkpoint.groups) {
    c10::Dict<std::string, at::Tensor> dict;
    for (const auto& [name, tensor] : tensors) dict.insert(name, tensor.detach().cpu().contiguous());
    groups.insert(group, dict);
  }
  root.insert("groups", groups);
  c10::Dict<std::string, std::string> text;
  for (const auto& [key, value] : checkpoint.text) text.insert(key, value);
  root.insert("text", text);
  return root;
}

[[noreturn]] void not_a_checkpoint(const std::string& path, const std::string& why) {
  throw Error(path + ": not a segdistill checkpoint (" + why +
              "); PyTorch state dicts are converted with `segdistill import-checkpoint`");
}

}  // namespace

void save_checkpoint(const Checkpoint& checkpoint, const std::string& path) {
  write_file_atomically(path, torch::pickle_save(to_ivalue(checkpoint)), "checkpoint");
}

Checkpoint load_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the checkpoint (does it exist and is it readable?)");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  c10::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const c10::Error& e) {
    not_a_checkpoint(path, "unreadable: " + std::string(e.what_without_backtrace()).substr(0, 200));
  }
  if (!value.isGenericDict()) not_a_checkpoint(path, "its top level is not a dict");
  const auto root = value.toGenericDict();
  if (!root.contains("format") || !root.at("format").isString() || root.at("format").toStringRef() != kMagic)
    not_a_checkpoint(path, "no segdistill format marker");
  Checkpoint checkpoint;
  checkpoint.format_version = root.at("format_version").toInt();
  if (checkpoint.format_version != kCheckpointFormatVersion)
    throw Error(path + ": checkpoint format version " + std::to_string(checkpoint.format_version) +
                ", this segdistill reads version " + std::to_string(kCheckpointFormatVersion));
  checkpoint.iteration = root.at("iteration").toInt();
  for (const auto& group : root.at("groups").toGenericDict()) {
    TensorDict& tensors = checkpoint.groups[group.key().toStringRef()];
    for (const auto& entry : group.value().toGenericDict()) tensors[entry.key().toStringRef()] = entry.value().toTensor();
  }
  for (const auto& entry : root.at("text").toGenericDict())
    checkpoint.text[entry.key().toStringRef()] = entry.value().toStringRef();
  return checkpoint;
}

TensorDict state_dict(const torch::nn::Module& module) {
  TensorDict out;
  for (const auto& p : module.named_parameters()) out[p.key()] = p.value();
  for (const auto& b : module.named_buffers()) out[b.key()] = b.value();
  return out;
}

namespace {
std::string shape_of(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}
}  // namespace

std::string StateDictDiff::report(std::size_t limit) const {
  std::string out;
  const auto list = [&](const char* title, const std::vector<std::string>& names) {
    if (names.empty()) return;
    out += std::string(out.empty() ? "" : "\n") + "  " + title + " (" + std::to_string(names.size()) + "): ";
    for (std::size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
    if (names.size() > limit) out += ", ... (" + std::to_string(names.size() - limit) + " more)";
  };
  list("missing from the file", missing);
  list("not in the model", unexpected);
  std::vector<std::string> shapes;
  for (const auto& m : shape_mismatches) shapes.push_back(m.name + " " + m.file_shape + " vs " + m.model_shape);
  list("different shapes (file vs model)", shapes);
  return out;
}

StateDictDiff compare_state_dict(const torch::nn::Module& module, const TensorDict& tensors) {
  const TensorDict target = state_dict(module);
  StateDictDiff diff;
  for (const auto& [name, tensor] : target) {
    auto it = tensors.find(name);
    if (it == tensors.end()) diff.missing.push_back(name);
    else if (!it->second.sizes().equals(tensor.sizes()))
      diff.shape_mismatches.push_back({name, shape_of(it->second), shape_of(tensor)});
  }
  for (const auto& [name, tensor] : tensors)
    if (!target.count(name)) diff.unexpected.push_back(name);
  return diff;
}

StateDictDiff load_matching(torch::nn::Module& module, const TensorDict& tensors) {
  StateDictDiff diff = compare_state_dict(module, tensors);
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : state_dict(module)) {
    auto it = tensors.find(name);
    if (it != tensors.end() && it->second.sizes().equals(tensor.sizes())) tensor.copy_(it->second.to(tensor.dtype()));
  }
  return diff;
}

void load_state_dict(torch::nn::Module& module, const TensorDict& tensors, const std::string& source) {
  const StateDictDiff diff = compare_state_dict(module, tensors);
  if (!diff.empty()) {
    std::string first;
    if (!diff.missing.empty()) first = "'" + diff.missing.front() + "' is missing from the checkpoint";
    else if (!diff.shape_mismatches.empty()) {
      const auto& m = diff.shape_mismatches.front();
      first = "'" + m.name + "' has shape " + m.file_shape + " in the checkpoint, " + m.model_shape + " in the model";
    } else first = "'" + diff.unexpected.front() + "' is in the checkpoint but not in the model";
    throw Error(source + ": checkpoint of another model: " + first + " (" + std::to_string(diff.count()) +
                " key(s) differ in all)");
  }
  load_matching(module, tensors);
}

}  // namespace segdistill
