#include "segdistill/checkpoint/checkpoint.hpp"

#include <algorithm>
#include <atomic>
#include <optional>

#include <torch/serialize.h>
#include <torch/torch.h>

#include "checkpoint/pickle_reader.hpp"
#include "checkpoint/pytorch_formats.hpp"
#include "checkpoint/reader.hpp"
#include "checkpoint/zip_archive.hpp"
#include "core/atomic_file.hpp"
#include "segdistill/checkpoint/random_state.hpp"
#include "segdistill/core/error.hpp"

namespace segdistill {

namespace {

const char* kFormatMarker = "segdistill_checkpoint";
const std::string kGroups[] = {"model", "teacher", "distillers", "optimizer", "hooks", "rng"};

c10::IValue to_ivalue(const Checkpoint& checkpoint) {
  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  root.insert("format", std::string(kFormatMarker));
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

namespace {

std::atomic<bool>& nonfinite_allowed() {
  static std::atomic<bool> allowed{false};
  return allowed;
}

using pickle::Value;
using Kind = pickle::Value::Kind;

const Value* find(const Value& dict, const std::string& key) {
  for (const auto& [k, v] : dict.entries)
    if (k->kind == Kind::String && k->text == key) return v.get();
  return nullptr;
}

// The checkpoint's structure, checked entry by entry.
class Parser {
 public:
  explicit Parser(const std::string& path) : path_(path) {}

  Checkpoint parse(const Value& root) const {
    if (root.kind != Kind::Dict) not_a_checkpoint(path_, "its top level is not a dict");
    const Value* format = find(root, "format");
    if (!format || format->kind != Kind::String || format->text != kFormatMarker)
      not_a_checkpoint(path_, "no segdistill format marker");
    Checkpoint checkpoint;
    checkpoint.format_version = integer(root, "format_version");
    if (checkpoint.format_version < kOldestReadableCheckpointFormat || checkpoint.format_version > kCheckpointFormatVersion)
      throw Error(path_ + ": checkpoint format version " + std::to_string(checkpoint.format_version) +
                  ", this segdistill reads versions " + std::to_string(kOldestReadableCheckpointFormat) + " to " +
                  std::to_string(kCheckpointFormatVersion) + " (written by a newer segdistill?)");
    checkpoint.iteration = integer(root, "iteration");
    if (checkpoint.iteration < 0) corrupt("a negative iteration");
    for (const auto& [key, group] : dict(root, "groups").entries) {
      const std::string name = string_key(*key, "groups");
      // Format 1 kept the optimizer as a TorchScript archive: never read.
      if (checkpoint.format_version == 1 && name == "optimizer") continue;
      if (std::find(std::begin(kGroups), std::end(kGroups), name) == std::end(kGroups))
        corrupt("unknown group '" + name + "' (valid: model, teacher, distillers, optimizer, hooks, rng)");
      if (group->kind != Kind::Dict) corrupt("group '" + name + "' is a " + pickle::kind_name(group->kind) + ", not a dict");
      TensorDict& tensors = checkpoint.groups[name];
      for (const auto& [tensor_key, tensor] : group->entries) {
        const std::string tensor_name = string_key(*tensor_key, name);
        if (tensor->kind != Kind::Tensor)
          corrupt("'" + name + "/" + tensor_name + "' is a " + pickle::kind_name(tensor->kind) + ", not a tensor");
        check_tensor(name, tensor_name, tensor->tensor);
        tensors[tensor_name] = tensor->tensor;
      }
    }
    for (const auto& [key, value] : dict(root, "text").entries) {
      const std::string name = string_key(*key, "text");
      if (value->kind != Kind::String) corrupt("text entry '" + name + "' is not a string");
      checkpoint.text[name] = value->text;
    }
    return checkpoint;
  }

 private:
  [[noreturn]] void corrupt(const std::string& what) const { throw Error(path_ + ": corrupt segdistill checkpoint: " + what); }
  std::int64_t integer(const Value& root, const char* key) const {
    const Value* v = find(root, key);
    if (!v || v->kind != Kind::Int) corrupt(std::string("'") + key + "' is missing or not an integer");
    return v->integer;
  }
  const Value& dict(const Value& root, const char* key) const {
    const Value* v = find(root, key);
    if (!v || v->kind != Kind::Dict) corrupt(std::string("'") + key + "' is missing or not a dict");
    return *v;
  }
  // Weights and optimizer state are numbers; the random state is the generator's own
  // bytes. Anything else (a serialized archive in a byte tensor, ...) is foreign data.
  void check_tensor(const std::string& group, const std::string& name, const at::Tensor& tensor) const {
    const std::string where = "'" + group + "/" + name + "'";
    if (group == "rng") {
      if (name != "cpu") corrupt("unknown random state " + where + " (valid: rng/cpu)");
      const std::int64_t expected = cpu_random_state_size();
      if (tensor.scalar_type() != at::kByte || tensor.dim() != 1 || tensor.numel() != expected)
        corrupt(where + " is not a CPU generator state (" + std::to_string(expected) + " bytes)");
      return;
    }
    if (!tensor.is_floating_point() && tensor.scalar_type() != at::kLong && tensor.scalar_type() != at::kInt)
      corrupt(where + " is a " + std::string(c10::toString(tensor.scalar_type())) +
              " tensor; weights and optimizer state are floating point or integer counters (foreign data in the file?)");
  }
  std::string string_key(const Value& key, const std::string& where) const {
    if (key.kind != Kind::String) corrupt("a key of '" + where + "' is a " + pickle::kind_name(key.kind) + ", not a string");
    return key.text;
  }
  const std::string& path_;
};

}  // namespace

void set_allow_nonfinite_tensors(bool allow) { nonfinite_allowed() = allow; }
bool allow_nonfinite_tensors() { return nonfinite_allowed(); }

std::optional<std::string> first_nonfinite(const TensorDict& tensors) {
  for (const auto& [name, tensor] : tensors)
    if (tensor.is_floating_point() && tensor.numel() > 0 && !at::isfinite(tensor).all().item<bool>()) return name;
  return std::nullopt;
}

void check_finite(const TensorDict& tensors, const std::string& source) {
  if (allow_nonfinite_tensors()) return;
  const auto name = first_nonfinite(tensors);
  if (!name) return;
  const at::Tensor& tensor = tensors.at(*name);
  const std::int64_t bad = tensor.numel() - at::isfinite(tensor).sum().item<std::int64_t>();
  throw Error(source + ": tensor '" + *name + "' holds " + std::to_string(bad) + " NaN or Inf value(s) of " +
              std::to_string(tensor.numel()) +
              ": the file is corrupt or was saved after training diverged; pass --allow-nonfinite to load it anyway");
}

Checkpoint read_checkpoint_archive(const ZipArchive& archive) {
  if (!archive.has("data.pkl")) not_a_checkpoint(archive.path(), "a zip archive without data.pkl");
  return Parser(archive.path()).parse(*load_zip_checkpoint(archive));
}

Checkpoint load_checkpoint(const std::string& path) {
  std::optional<ZipArchive> archive;
  try {
    archive.emplace(path, "segdistill checkpoint");
  } catch (const Error& e) {
    const std::string message = e.what();
    if (message.find(": not a segdistill checkpoint (") == std::string::npos) throw;
    throw Error(message + "; PyTorch state dicts are converted with `segdistill import-checkpoint`");
  }
  const Checkpoint checkpoint = read_checkpoint_archive(*archive);
  for (const auto& [group, tensors] : checkpoint.groups)
    if (group != "rng") check_finite(tensors, path + " (group '" + group + "')");
  return checkpoint;
}

TensorDict state_dict(const torch::nn::Module& module) {
  TensorDict out;
  for (const auto& p : module.named_parameters()) out[p.key()] = p.value();
  for (const auto& b : module.named_buffers()) out[b.key()] = b.value();
  return out;
}

Checkpoint model_checkpoint(const torch::nn::Module& model, const std::string& config_toml, std::int64_t iteration) {
  Checkpoint checkpoint;
  checkpoint.iteration = iteration;
  checkpoint.groups["model"] = state_dict(model);
  checkpoint.text["config"] = config_toml;
  return checkpoint;
}

std::string shape_text(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

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
    if (it == tensors.end())
      diff.missing.push_back(name);
    else if (!it->second.sizes().equals(tensor.sizes()))
      diff.shape_mismatches.push_back({name, shape_text(it->second), shape_text(tensor)});
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
    if (!diff.missing.empty())
      first = "'" + diff.missing.front() + "' is missing from the checkpoint";
    else if (!diff.shape_mismatches.empty()) {
      const auto& m = diff.shape_mismatches.front();
      first = "'" + m.name + "' has shape " + m.file_shape + " in the checkpoint, " + m.model_shape + " in the model";
    } else
      first = "'" + diff.unexpected.front() + "' is in the checkpoint but not in the model";
    throw Error(source + ": checkpoint of another model: " + first + " (" + std::to_string(diff.count()) +
                " key(s) differ in all)");
  }
  load_matching(module, tensors);
}

}  // namespace segdistill
