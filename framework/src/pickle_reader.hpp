#pragma once
// Private to libsegdistill: a reader of the pickle opcodes torch.save emits (protocols
// 2 to 4), rebuilding tensors through the caller's storage loader. Unknown classes
// become opaque objects rather than errors: checkpoints carry things such as argparse
// namespaces or numpy scalars next to the state dict, which we never need.
#include <cstddef>
#include <functional>
#include <string>
#include <unordered_map>

#include "pickle_value.hpp"

namespace segdistill::pickle {

// Returns the tensor (a 1-D storage) a persistent id tuple names.
using StorageLoader = std::function<at::Tensor(const Value& persistent_id)>;

class Reader {
 public:
  // `source` names the file in errors.
  Reader(const char* data, std::size_t size, std::string source, StorageLoader storages = {});
  // Reads one pickle (up to STOP).
  Ref load();
  // Bytes consumed so far (the legacy format stores several pickles back to back).
  std::size_t position() const { return pos_; }

 private:
  [[noreturn]] void fail(const std::string& what) const;
  std::uint8_t byte();
  const char* take(std::size_t n);
  std::uint32_t u32();
  std::string line();
  Ref pop();
  Ref& top();
  std::vector<Ref> pop_to_mark();
  void reduce();
  Ref rebuild_tensor(const std::vector<Ref>& args);

  const char* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  std::string source_;
  StorageLoader storages_;
  std::vector<Ref> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint32_t, Ref> memo_;
};

// The element type a storage class name stands for (torch.FloatStorage -> float32).
at::ScalarType storage_dtype(const std::string& storage_class, const std::string& source);

}  // namespace segdistill::pickle
