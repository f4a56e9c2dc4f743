#pragma once
// Private to libsegdistill: the values a Python pickle of a PyTorch checkpoint holds.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace segdistill::pickle {

struct Value;
using Ref = std::shared_ptr<Value>;

struct Value {
  enum class Kind { None, Bool, Int, BigInt, Float, String, Bytes, List, Tuple, Dict, Global, Object, Tensor, Mark };
  Kind kind = Kind::None;
  bool boolean = false;
  std::int64_t integer = 0;
  double floating = 0;
  std::string text;                          // String, Bytes, BigInt (little-endian bytes), Global ("module.name")
  std::vector<Ref> items;                    // List, Tuple; Object: its constructor arguments
  std::vector<std::pair<Ref, Ref>> entries;  // Dict, in insertion order
  Ref callable;                              // Object: what built it
  Ref state;                                 // Object: BUILD state
  at::Tensor tensor;                         // Tensor

  static Ref make(Kind kind) {
    auto v = std::make_shared<Value>();
    v->kind = kind;
    return v;
  }
};

// "dict", "tensor", ... for messages.
const char* kind_name(Value::Kind kind);

}  // namespace segdistill::pickle
