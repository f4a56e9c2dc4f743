#include <cstring>
#include <map>
#include <set>

#include <ATen/ATen.h>

#include "checkpoint/pickle_reader.hpp"
#include "checkpoint/pytorch_formats.hpp"
#include "segdistill/core/error.hpp"

namespace segdistill {

namespace {

// 0x1950a86a20f9469cfc6c, the magic number of the legacy format, as pickle's LONG1 bytes.
const unsigned char kLegacyMagicNumber[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr std::int64_t kProtocolVersion = 1001;

using Kind = pickle::Value::Kind;

struct PendingStorage {
  at::Tensor root;  // filled once the raw data is read
};

}  // namespace

pickle::Ref load_legacy_checkpoint(const std::string& path, const std::vector<char>& bytes) {
  std::size_t offset = 0;
  // One budget for the file's five pickles and its storages.
  ReaderMemoryBudget budget(path, bytes.size());
  auto next_pickle = [&](pickle::StorageLoader loader = {}) {
    pickle::Reader reader(bytes.data() + offset, bytes.size() - offset, path, budget, std::move(loader));
    pickle::Ref value = reader.load();
    offset += reader.position();
    return value;
  };

  const pickle::Ref magic = next_pickle();
  if (magic->kind != Kind::BigInt ||
      magic->text != std::string(reinterpret_cast<const char*>(kLegacyMagicNumber), sizeof(kLegacyMagicNumber)))
    throw Error(path + ": not a PyTorch checkpoint (neither the zip format of torch.save >= 1.6 nor the legacy format)");
  const pickle::Ref protocol = next_pickle();
  if (protocol->kind != Kind::Int || protocol->integer != kProtocolVersion)
    throw Error(path + ": legacy PyTorch checkpoint with unsupported protocol version");
  const pickle::Ref sys_info = next_pickle();
  for (const auto& [key, value] : sys_info->entries)
    if (key->text == "little_endian" && value->kind == Kind::Bool && !value->boolean)
      throw Error(path + ": written on a big-endian machine; only little-endian checkpoints are supported");

  // Storages are allocated when the object pickle names them and filled afterwards:
  // their bytes follow the pickle in the file.
  std::map<std::string, at::Tensor> roots;
  auto load_storage = [&](const pickle::Value& id) -> at::Tensor {
    // ('storage', storage class, root key, location, numel, view metadata)
    if (id.kind != Kind::Tuple || id.items.size() < 6 || id.items[1]->kind != Kind::Global || id.items[2]->kind != Kind::String ||
        id.items[4]->kind != Kind::Int)
      throw Error(path + ": unexpected storage reference in the checkpoint");
    const std::string key = id.items[2]->text;
    auto found = roots.find(key);
    if (found == roots.end()) {
      const at::ScalarType dtype = pickle::storage_dtype(id.items[1]->text, path);
      // The storage's bytes follow in the file: a count the file cannot hold is refused
      // before anything is allocated.
      const std::int64_t numel = id.items[4]->integer;
      if (numel < 0 || static_cast<std::uint64_t>(numel) > bytes.size() / c10::elementSize(dtype))
        throw Error(path + ": storage '" + key + "' declares " + std::to_string(numel) + " elements, more than the " +
                    std::to_string(bytes.size()) + "-byte file holds (corrupt file?)");
      budget.charge(static_cast<std::uint64_t>(numel) * c10::elementSize(dtype), "tensor storages");
      found = roots.emplace(key, at::empty({numel}, at::TensorOptions().dtype(dtype))).first;
    }
    const pickle::Value& view = *id.items[5];
    if (view.kind == Kind::Tuple && view.items.size() == 3) {  // (view key, offset, size)
      const pickle::Value& view_offset = *view.items[1];
      const pickle::Value& size = *view.items[2];
      const std::int64_t numel = found->second.numel();
      if (view_offset.kind != Kind::Int || size.kind != Kind::Int || view_offset.integer < 0 || size.integer < 0 ||
          view_offset.integer > numel || size.integer > numel - view_offset.integer)
        throw Error(path + ": a view of storage '" + key + "' lies outside it (corrupt file?)");
      return found->second.narrow(0, view_offset.integer, size.integer);
    }
    return found->second;
  };
  pickle::Ref result = next_pickle(load_storage);

  const pickle::Ref keys = next_pickle();
  if (keys->kind != Kind::List) throw Error(path + ": legacy checkpoint without its storage list");
  // Storages were allocated uninitialised: each must be filled from the file, once.
  std::set<std::string> filled;
  for (const auto& key : keys->items) {
    if (key->kind != Kind::String)
      throw Error(path + ": the storage list holds a " + pickle::kind_name(key->kind) + ", not a key");
    auto root = roots.find(key->text);
    if (root == roots.end()) throw Error(path + ": storage '" + key->text + "' is listed but never used");
    if (!filled.insert(key->text).second) throw Error(path + ": storage '" + key->text + "' is listed twice (corrupt file?)");
    if (bytes.size() - offset < 8) throw Error(path + ": the file ends before storage '" + key->text + "' (truncated?)");
    std::int64_t numel = 0;
    std::memcpy(&numel, bytes.data() + offset, 8);
    offset += 8;
    if (numel != root->second.numel())
      throw Error(path + ": storage '" + key->text + "' holds " + std::to_string(numel) + " elements, expected " +
                  std::to_string(root->second.numel()));
    const std::size_t size = static_cast<std::size_t>(numel) * root->second.element_size();
    if (bytes.size() - offset < size) throw Error(path + ": the file ends inside storage '" + key->text + "' (truncated?)");
    std::memcpy(root->second.data_ptr(), bytes.data() + offset, size);
    offset += size;
  }
  for (const auto& [key, storage] : roots)
    if (!filled.count(key))
      throw Error(path + ": storage '" + key + "' is used by a tensor but its bytes are not in the file (" +
                  std::to_string(filled.size()) + " of " + std::to_string(roots.size()) +
                  " storages listed; truncated or corrupt file?)");
  return result;
}

}  // namespace segdistill
