#include <cstring>
#include <map>

#include <ATen/ATen.h>

#include "checkpoint/pickle_reader.hpp"
#include "checkpoint/pytorch_formats.hpp"
#include "checkpoint/zip_archive.hpp"
#include "segdistill/core/error.hpp"

namespace segdistill {

namespace {

using Kind = pickle::Value::Kind;

// ('storage', storage class, key, location, numel)
struct StorageId {
  std::string storage_class, key;
  std::int64_t numel = 0;
};

StorageId parse_storage_id(const pickle::Value& id, const std::string& path) {
  if (id.kind != Kind::Tuple || id.items.size() < 5 || id.items[0]->text != "storage" || id.items[1]->kind != Kind::Global ||
      id.items[2]->kind != Kind::String || id.items[4]->kind != Kind::Int || id.items[4]->integer < 0)
    throw Error(path + ": unexpected storage reference in the checkpoint");
  return {id.items[1]->text, id.items[2]->text, id.items[4]->integer};
}

}  // namespace

pickle::Ref load_zip_checkpoint(const ZipArchive& archive) {
  const std::string& path = archive.path();
  if (!archive.has("data.pkl")) {
    if (archive.has("constants.pkl"))
      throw Error(path +
                  ": a TorchScript archive (torch.jit.save), not a state dict; in Python, save one with "
                  "torch.save(model.state_dict(), FILE)");
    throw Error(path + ": zip archive without data.pkl: not written by torch.save");
  }
  if (archive.has("byteorder") && archive.read("byteorder") != "little")
    throw Error(path + ": written on a big-endian machine; only little-endian checkpoints are supported");

  ReaderMemoryBudget budget(path, archive.file_size());
  std::map<std::string, at::Tensor> storages;
  auto load_storage = [&](const pickle::Value& id) -> at::Tensor {
    const StorageId storage = parse_storage_id(id, path);
    auto found = storages.find(storage.key);
    if (found != storages.end()) return found->second;
    const at::ScalarType dtype = pickle::storage_dtype(storage.storage_class, path);
    const std::string record = "data/" + storage.key;
    if (!archive.has(record)) throw Error(path + ": storage '" + record + "' is missing from the archive");
    // The declared element count is checked against the entry's real size before
    // anything is allocated.
    const std::size_t size = archive.size(record);
    const auto element = static_cast<std::size_t>(c10::elementSize(dtype));
    if (static_cast<std::uint64_t>(storage.numel) > size / element || static_cast<std::size_t>(storage.numel) * element != size)
      throw Error(path + ": storage '" + record + "' has " + std::to_string(size) + " bytes, its reference declares " +
                  std::to_string(storage.numel) + " elements of " + std::to_string(element) +
                  " bytes (truncated or corrupt file?)");
    const std::string_view bytes = archive.read(record);
    budget.charge(size, "tensor storages");
    at::Tensor tensor = at::empty({storage.numel}, at::TensorOptions().dtype(dtype));
    if (size) std::memcpy(tensor.data_ptr(), bytes.data(), size);
    storages.emplace(storage.key, tensor);
    return tensor;
  };

  const std::string_view data = archive.read("data.pkl");
  pickle::Reader pickle_reader(data.data(), data.size(), path, budget, load_storage);
  return pickle_reader.load();
}

}  // namespace segdistill
