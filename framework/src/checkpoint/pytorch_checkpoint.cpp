#include "segdistill/checkpoint/pytorch_checkpoint.hpp"

#include <set>

#include <torch/serialize.h>
#include <torch/torch.h>

#include "checkpoint/pickle_reader.hpp"
#include "checkpoint/pytorch_formats.hpp"
#include "checkpoint/zip_archive.hpp"
#include "core/atomic_file.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/untrusted_file.hpp"

namespace segdistill {

namespace {

using pickle::Ref;
using Kind = pickle::Value::Kind;

bool is_tensor_dict(const pickle::Value& dict) {
  if (dict.kind != Kind::Dict || dict.entries.empty()) return false;
  for (const auto& [key, value] : dict.entries)
    if (key->kind != Kind::String || value->kind != Kind::Tensor) return false;
  return true;
}

const pickle::Value* entry(const pickle::Value& dict, const std::string& name) {
  for (const auto& [key, value] : dict.entries)
    if (key->kind == Kind::String && key->text == name) return value.get();
  return nullptr;
}

std::string top_level_keys(const pickle::Value& dict) {
  std::string out;
  for (const auto& [key, value] : dict.entries)
    out += (out.empty() ? "" : ", ") + (key->kind == Kind::String ? "'" + key->text + "'" : std::string("?")) + " (" +
           pickle::kind_name(value->kind) + ")";
  return out;
}

}  // namespace

PyTorchStateDict read_pytorch_state_dict(const std::string& path, bool keep_dtypes) {
  std::vector<char> bytes = read_untrusted_file(path, "checkpoint", kMaxCheckpointBytes, kCheckpointLimit);
  PyTorchStateDict result;
  Ref root;
  if (bytes.size() >= 4 && bytes[0] == 'P' && bytes[1] == 'K' && bytes[2] == 3 && bytes[3] == 4) {
    result.format = "zip (torch.save, PyTorch >= 1.6)";
    root = load_zip_checkpoint(ZipArchive(std::move(bytes), path, "PyTorch checkpoint"));
  } else if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x80) {
    result.format = "legacy (torch.save, PyTorch < 1.6)";
    root = load_legacy_checkpoint(path, bytes);
  } else {
    throw Error(path + ": not a PyTorch checkpoint (neither the zip format of torch.save >= 1.6 nor the legacy format)");
  }
  if (root->kind != Kind::Dict)
    throw Error(path + ": the checkpoint holds a " + pickle::kind_name(root->kind) +
                ", not a dict; save a state dict with torch.save(model.state_dict(), FILE)");

  const pickle::Value* state = nullptr;
  for (const char* name : {"state_dict", "model"}) {
    const pickle::Value* candidate = entry(*root, name);
    if (candidate && is_tensor_dict(*candidate)) {
      state = candidate;
      result.location = std::string("'") + name + "'";
      break;
    }
  }
  if (!state && is_tensor_dict(*root)) {
    state = root.get();
    result.location = "top level";
  }
  if (!state)
    throw Error(path +
                ": no state dict found (a dict of tensors at the top level or under 'state_dict' or 'model'); "
                "the file's top level holds: " +
                top_level_keys(*root));
  if (state != root.get()) {
    std::vector<std::string> ignored;
    for (const auto& [key, value] : root->entries)
      if (value.get() != state && key->kind == Kind::String) ignored.push_back(key->text);
    if (!ignored.empty()) {
      std::string list;
      for (const auto& name : ignored) list += (list.empty() ? "" : ", ") + name;
      result.notes.push_back("ignored the other top-level entries: " + list);
    }
  }

  const std::string prefix = "module.";
  bool all_prefixed = true;
  for (const auto& [key, value] : state->entries) all_prefixed = all_prefixed && key->text.rfind(prefix, 0) == 0;
  if (all_prefixed) result.notes.push_back("stripped the 'module.' prefix (DataParallel)");
  std::set<std::string> converted;
  for (const auto& [key, value] : state->entries) {
    const std::string name = all_prefixed ? key->text.substr(prefix.size()) : key->text;
    at::Tensor tensor = value->tensor;
    if (!keep_dtypes && tensor.is_floating_point() && tensor.scalar_type() != at::kFloat) {
      converted.insert(std::string(c10::toString(tensor.scalar_type())));
      tensor = tensor.to(at::kFloat);
    }
    result.tensors[name] = tensor.contiguous();
  }
  for (const auto& type : converted) result.notes.push_back("converted " + type + " tensors to float32");
  check_finite(result.tensors, path);
  return result;
}

void write_pytorch_state_dict(const TensorDict& tensors, const std::string& path) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, tensor] : tensors) dict.insert(name, tensor.detach().cpu().contiguous());
  write_file_atomically(path, torch::pickle_save(dict), "state dict");
}

}  // namespace segdistill
