#include "segdistill/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <torch/serialize.h>
#include <torch/torch.h>

#include "segdistill/error.hpp"

namespace fs = std::filesystem;

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

void write_all(int fd, const char* data, std::size_t size, const std::string& temporary) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw Error(temporary + ": " + std::strerror(errno));
    }
    data += written;
    size -= static_cast<std::size_t>(written);
  }
}

[[noreturn]] void not_a_checkpoint(const std::string& path, const std::string& why) {
  throw Error(path + ": not a segdistill checkpoint (" + why +
              "); PyTorch state dicts are converted with `segdistill import-checkpoint`");
}

}  // namespace

void save_checkpoint(const Checkpoint& checkpoint, const std::string& path) {
  const std::vector<char> bytes = torch::pickle_save(to_ivalue(checkpoint));
  const std::string temporary = path + ".tmp";
  std::error_code ec;
  if (const auto parent = fs::path(path).parent_path(); !parent.empty()) fs::create_directories(parent, ec);
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path + ": cannot write the checkpoint: " + std::strerror(errno));
  try {
    write_all(fd, bytes.data(), bytes.size(), temporary);
    if (::fsync(fd) != 0) throw Error(temporary + ": " + std::strerror(errno));
  } catch (const Error& e) {
    ::close(fd);
    fs::remove(temporary, ec);
    throw Error(path + ": cannot write the checkpoint (" + e.what() + "); the previous file, if any, is unchanged");
  }
  if (::close(fd) != 0) {
    fs::remove(temporary, ec);
    throw Error(path + ": cannot write the checkpoint: " + std::strerror(errno));
  }
  fs::rename(temporary, path, ec);
  if (ec) {
    fs::remove(temporary, ec);
    throw Error(path + ": cannot put the checkpoint in place: " + ec.message());
  }
  // Make the rename itself durable.
  const std::string dir = fs::path(path).parent_path().empty() ? "." : fs::path(path).parent_path().string();
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
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

void load_state_dict(torch::nn::Module& module, const TensorDict& tensors, const std::string& source) {
  const TensorDict target = state_dict(module);
  std::string first;
  std::size_t differing = 0;
  const auto note = [&](const std::string& text) {
    if (first.empty()) first = text;
    ++differing;
  };
  for (const auto& [name, tensor] : target) {
    auto it = tensors.find(name);
    if (it == tensors.end()) note("'" + name + "' is missing from the checkpoint");
    else if (!it->second.sizes().equals(tensor.sizes()))
      note("'" + name + "' has shape " + shape_of(it->second) + " in the checkpoint, " + shape_of(tensor) + " in the model");
  }
  for (const auto& [name, tensor] : tensors)
    if (!target.count(name)) note("'" + name + "' is in the checkpoint but not in the model");
  if (differing)
    throw Error(source + ": checkpoint of another model: " + first + " (" + std::to_string(differing) +
                " key(s) differ in all)");
  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : target) {
    auto destination = tensor;
    destination.copy_(tensors.at(name).to(destination.dtype()));
  }
}

}  // namespace segdistill
