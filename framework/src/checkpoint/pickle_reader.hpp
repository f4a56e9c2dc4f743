#pragma once
// Private to libsegdistill: a reader of the pickle opcodes torch.save emits (protocols
// 2 to 4), rebuilding tensors through the caller's storage loader. Unknown classes
// become opaque objects rather than errors: checkpoints carry things such as argparse
// namespaces or numpy scalars next to the state dict, which we never need.
// Nothing in a file is ever called: a class name is only a name. The reader is a loop,
// not a recursion, and what it returns is checked to be a tree of bounded depth (no
// cycles), so that no later walk over it and no destructor can exhaust the stack.
#include <cstddef>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "checkpoint/pickle_value.hpp"
#include "segdistill/core/untrusted_file.hpp"

namespace segdistill::pickle {

// Returns the tensor (a 1-D storage) a persistent id tuple names.
using StorageLoader = std::function<at::Tensor(const Value& persistent_id)>;

class Reader {
 public:
  // `source` names the file in errors. Every value, container slot, memo entry and tensor
  // view the pickle builds is charged to `budget` before it is built: one byte of pickle
  // can make a value of about 200 bytes, and a stride-0 view of a few bytes can declare
  // gigabytes.
  Reader(const char* data, std::size_t size, std::string source, ReaderMemoryBudget& budget, StorageLoader storages = {});
  // What one value costs in memory, with its shared_ptr block and bookkeeping.
  static constexpr std::size_t kValueCost = sizeof(Value) + 96;
  // Limits on what one pickle may build; far above any real checkpoint's.
  static constexpr std::size_t kMaxDepth = 100;      // containers nested in containers
  static constexpr std::size_t kMaxMemo = 1u << 22;  // memo entries
  static constexpr std::size_t kMaxTensorDims = 32;

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
  Ref make(Value::Kind kind);
  void push(Ref value);
  // One function per opcode family; `op` is the opcode byte.
  void push_constant(std::uint8_t op);
  void push_integer(std::uint8_t op);
  void push_float();
  void push_text(std::uint8_t op);
  void build_container(std::uint8_t op);
  void add_to_container(std::uint8_t op);
  void memo_operation(std::uint8_t op);
  void push_global(std::uint8_t op);
  void call_or_build(std::uint8_t op);
  void push_persistent();
  void insert(Value& container, Ref item);
  // Charges `count` more slots of a container (a Ref each).
  void charge_slots(std::size_t count);
  // Fails on a cycle or a nesting deeper than kMaxDepth under `root`; returns every value
  // of the tree.
  std::unordered_set<const Value*> check_tree(const Value* root);
  // Unlinks every value built by this load but those in `keep`, so that the values drop
  // without recursion and cycles left by a hostile file do not leak.
  void release(const std::unordered_set<const Value*>& keep);

  const char* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  std::string source_;
  ReaderMemoryBudget& budget_;
  StorageLoader storages_;
  std::size_t stack_peak_ = 0, marks_peak_ = 0;
  std::vector<Ref> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint32_t, Ref> memo_;
  std::vector<Ref> created_;
};

// The element type a storage class name stands for (torch.FloatStorage -> float32).
at::ScalarType storage_dtype(const std::string& storage_class, const std::string& source);

}  // namespace segdistill::pickle
