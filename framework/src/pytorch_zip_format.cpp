#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <map>

#include <ATen/ATen.h>

#include "pickle_reader.hpp"
#include "pytorch_formats.hpp"
#include "segdistill/error.hpp"

namespace segdistill {

namespace {

// ('storage', storage class, key, location, numel)
struct StorageId {
  std::string storage_class, key;
  std::int64_t numel = 0;
};

StorageId parse_storage_id(const pickle::Value& id, const std::string& path) {
  using Kind = pickle::Value::Kind;
  if (id.kind != Kind::Tuple || id.items.size() < 5 || id.items[0]->text != "storage" ||
      id.items[1]->kind != Kind::Global || id.items[2]->kind != Kind::String || id.items[4]->kind != Kind::Int)
    throw Error(path + ": unexpected storage reference in the checkpoint");
  return {id.items[1]->text, id.items[2]->text, id.items[4]->integer};
}

}  // namespace

pickle::Ref load_zip_checkpoint(const std::string& path) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    throw Error(path + ": not a readable PyTorch zip archive: " + std::string(e.what_without_backtrace()).substr(0, 200));
  }
  if (!reader->hasRecord("data.pkl")) {
    if (reader->hasRecord("constants.pkl"))
      throw Error(path + ": a TorchScript archive (torch.jit.save), not a state dict; in Python, save one with "
                         "torch.save(model.state_dict(), FILE)");
    throw Error(path + ": zip archive without data.pkl: not written by torch.save");
  }
  if (reader->hasRecord("byteorder")) {
    auto [data, size] = reader->getRecord("byteorder");
    if (std::string(static_cast<const char*>(data.get()), size) != "little")
      throw Error(path + ": written on a big-endian machine; only little-endian checkpoints are supported");
  }

  std::map<std::string, at::Tensor> storages;
  auto load_storage = [&](const pickle::Value& id) -> at::Tensor {
    const StorageId storage = parse_storage_id(id, path);
    auto found = storages.find(storage.key);
    if (found != storages.end()) return found->second;
    const at::ScalarType dtype = pickle::storage_dtype(storage.storage_class, path);
    at::Tensor tensor = at::empty({storage.numel}, at::TensorOptions().dtype(dtype));
    const std::string record = "data/" + storage.key;
    if (!reader->hasRecord(record)) throw Error(path + ": storage '" + record + "' is missing from the archive");
    auto [data, size] = reader->getRecord(record);
    const std::size_t expected = static_cast<std::size_t>(storage.numel) * tensor.element_size();
    if (size != expected)
      throw Error(path + ": storage '" + record + "' has " + std::to_string(size) + " bytes, expected " +
                  std::to_string(expected) + " (truncated or corrupt file?)");
    std::memcpy(tensor.data_ptr(), data.get(), size);
    storages.emplace(storage.key, tensor);
    return tensor;
  };

  auto [data, size] = reader->getRecord("data.pkl");
  pickle::Reader pickle_reader(static_cast<const char*>(data.get()), size, path, load_storage);
  return pickle_reader.load();
}

}  // namespace segdistill
