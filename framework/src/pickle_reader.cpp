#include "pickle_reader.hpp"

#include <cstring>

#include <ATen/ATen.h>

#include "segdistill/error.hpp"

namespace segdistill::pickle {

const char* kind_name(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::None: return "None";
    case Value::Kind::Bool: return "bool";
    case Value::Kind::Int: return "int";
    case Value::Kind::BigInt: return "int";
    case Value::Kind::Float: return "float";
    case Value::Kind::String: return "str";
    case Value::Kind::Bytes: return "bytes";
    case Value::Kind::List: return "list";
    case Value::Kind::Tuple: return "tuple";
    case Value::Kind::Dict: return "dict";
    case Value::Kind::Global: return "class";
    case Value::Kind::Object: return "object";
    case Value::Kind::Tensor: return "tensor";
    case Value::Kind::Mark: return "mark";
  }
  return "?";
}

at::ScalarType storage_dtype(const std::string& storage_class, const std::string& source) {
  static const std::pair<const char*, at::ScalarType> kinds[] = {
      {"FloatStorage", at::kFloat},    {"DoubleStorage", at::kDouble}, {"HalfStorage", at::kHalf},
      {"BFloat16Storage", at::kBFloat16}, {"LongStorage", at::kLong},  {"IntStorage", at::kInt},
      {"ShortStorage", at::kShort},    {"CharStorage", at::kChar},     {"ByteStorage", at::kByte},
      {"BoolStorage", at::kBool}};
  const std::string name = storage_class.substr(storage_class.rfind('.') + 1);
  for (const auto& [k, type] : kinds)
    if (name == k) return type;
  throw Error(source + ": unsupported tensor storage type '" + storage_class + "'");
}

Reader::Reader(const char* data, std::size_t size, std::string source, StorageLoader storages)
    : data_(data), size_(size), source_(std::move(source)), storages_(std::move(storages)) {}

void Reader::fail(const std::string& what) const {
  throw Error(source_ + ": corrupt or unsupported pickle data at byte " + std::to_string(pos_) + ": " + what);
}

std::uint8_t Reader::byte() { return static_cast<std::uint8_t>(*take(1)); }

const char* Reader::take(std::size_t n) {
  if (n > size_ - pos_) fail("the data ends early (truncated file?)");
  const char* p = data_ + pos_;
  pos_ += n;
  return p;
}

std::uint32_t Reader::u32() {
  const auto* p = reinterpret_cast<const unsigned char*>(take(4));
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 | static_cast<std::uint32_t>(p[2]) << 16 |
         static_cast<std::uint32_t>(p[3]) << 24;
}

std::string Reader::line() {
  const std::size_t start = pos_;
  while (pos_ < size_ && data_[pos_] != '\n') ++pos_;
  if (pos_ >= size_) fail("unterminated line");
  return std::string(data_ + start, data_ + pos_++);
}

Ref Reader::pop() {
  if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("stack underflow");
  Ref v = std::move(stack_.back());
  stack_.pop_back();
  return v;
}

Ref& Reader::top() {
  if (stack_.empty()) fail("stack underflow");
  return stack_.back();
}

std::vector<Ref> Reader::pop_to_mark() {
  if (marks_.empty()) fail("no mark on the stack");
  const std::size_t mark = marks_.back();
  marks_.pop_back();
  std::vector<Ref> items(std::make_move_iterator(stack_.begin() + static_cast<long>(mark)),
                         std::make_move_iterator(stack_.end()));
  stack_.resize(mark);
  return items;
}

namespace {

std::vector<std::int64_t> int_tuple(const Ref& value, const Reader&, const std::string& source) {
  if (!value || (value->kind != Value::Kind::Tuple && value->kind != Value::Kind::List))
    throw Error(source + ": a tensor's size or stride is not a tuple");
  std::vector<std::int64_t> out;
  for (const auto& item : value->items) {
    if (item->kind != Value::Kind::Int) throw Error(source + ": a tensor's size or stride holds a non-integer");
    out.push_back(item->integer);
  }
  return out;
}

}  // namespace

Ref Reader::rebuild_tensor(const std::vector<Ref>& args) {
  if (args.size() < 4 || args[0]->kind != Value::Kind::Tensor || args[1]->kind != Value::Kind::Int)
    fail("unexpected arguments to torch._utils._rebuild_tensor");
  const at::Tensor& storage = args[0]->tensor;
  const auto sizes = int_tuple(args[2], *this, source_);
  const auto strides = int_tuple(args[3], *this, source_);
  if (sizes.size() != strides.size()) fail("a tensor's size and stride have different lengths");
  std::int64_t last = args[1]->integer;
  for (std::size_t d = 0; d < sizes.size(); ++d)
    if (sizes[d] > 0) last += (sizes[d] - 1) * strides[d];
  if (!sizes.empty() && std::find(sizes.begin(), sizes.end(), 0) == sizes.end() && last >= storage.numel())
    fail("a tensor reaches past the end of its storage");
  Ref out = Value::make(Value::Kind::Tensor);
  out->tensor = storage.as_strided(sizes, strides, args[1]->integer);
  return out;
}

void Reader::reduce() {
  Ref args = pop();
  Ref callable = pop();
  const std::string name = callable->kind == Value::Kind::Global ? callable->text : "";
  const std::vector<Ref> empty;
  const std::vector<Ref>& a = args->kind == Value::Kind::Tuple ? args->items : empty;
  if (name == "collections.OrderedDict") {
    Ref dict = Value::make(Value::Kind::Dict);
    if (!a.empty() && a[0]->kind == Value::Kind::List)
      for (const auto& pair : a[0]->items)
        if (pair->kind == Value::Kind::Tuple && pair->items.size() == 2) dict->entries.emplace_back(pair->items[0], pair->items[1]);
    stack_.push_back(dict);
  } else if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
    stack_.push_back(rebuild_tensor(a));
  } else if (name == "torch.jit._pickle.restore_type_tag" && !a.empty()) {
    // LibTorch's pickler (torch::pickle_save) tags typed containers; the value is the first argument.
    stack_.push_back(a[0]);
  } else if ((name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") &&
             !a.empty() && a[0]->kind == Value::Kind::Tensor) {
    stack_.push_back(a[0]);
  } else {
    Ref object = Value::make(Value::Kind::Object);
    object->callable = callable;
    object->items = a;
    stack_.push_back(object);
  }
}

Ref Reader::load() {
  stack_.clear();
  marks_.clear();
  memo_.clear();
  for (;;) {
    const std::uint8_t op = byte();
    switch (op) {
      case 0x80: byte(); break;                 // PROTO
      case 0x95: take(8); break;                // FRAME
      case '(': marks_.push_back(stack_.size()); break;  // MARK
      case '.': {                               // STOP
        Ref result = pop();
        return result;
      }
      case 'N': stack_.push_back(Value::make(Value::Kind::None)); break;
      case 0x88:
      case 0x89: {  // NEWTRUE, NEWFALSE
        Ref v = Value::make(Value::Kind::Bool);
        v->boolean = op == 0x88;
        stack_.push_back(v);
        break;
      }
      case 'J': case 'K': case 'M': {  // BININT, BININT1, BININT2
        Ref v = Value::make(Value::Kind::Int);
        if (op == 'J') v->integer = static_cast<std::int32_t>(u32());
        else if (op == 'K') v->integer = byte();
        else {
          const std::uint32_t lo = byte();
          v->integer = static_cast<std::int64_t>(lo | (static_cast<std::uint32_t>(byte()) << 8));
        }
        stack_.push_back(v);
        break;
      }
      case 0x8a: case 0x8b: {  // LONG1, LONG4
        const std::size_t n = op == 0x8a ? byte() : u32();
        const auto* p = reinterpret_cast<const unsigned char*>(take(n));
        Ref v;
        if (n <= 8) {
          v = Value::make(Value::Kind::Int);
          std::uint64_t bits = 0;
          for (std::size_t i = 0; i < n; ++i) bits |= static_cast<std::uint64_t>(p[i]) << (8 * i);
          if (n > 0 && n < 8 && (p[n - 1] & 0x80)) bits |= ~std::uint64_t{0} << (8 * n);  // sign-extend
          v->integer = static_cast<std::int64_t>(bits);
        } else {
          v = Value::make(Value::Kind::BigInt);
          v->text.assign(reinterpret_cast<const char*>(p), n);
        }
        stack_.push_back(v);
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        const auto* p = reinterpret_cast<const unsigned char*>(take(8));
        std::uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = bits << 8 | p[i];
        Ref v = Value::make(Value::Kind::Float);
        std::memcpy(&v->floating, &bits, 8);
        stack_.push_back(v);
        break;
      }
      case 'X': case 0x8c: case 0x8d: case 'U': case 'T': case 'B': case 'C': case 0x8e: {
        std::size_t n = 0;
        if (op == 0x8c || op == 'U' || op == 'C') n = byte();
        else if (op == 0x8d || op == 0x8e) {
          const std::uint64_t lo = u32();
          n = static_cast<std::size_t>(lo | static_cast<std::uint64_t>(u32()) << 32);
        } else n = u32();
        Ref v = Value::make(op == 'B' || op == 'C' || op == 0x8e ? Value::Kind::Bytes : Value::Kind::String);
        v->text.assign(take(n), n);
        stack_.push_back(v);
        break;
      }
      case ']': stack_.push_back(Value::make(Value::Kind::List)); break;
      case ')': stack_.push_back(Value::make(Value::Kind::Tuple)); break;
      case '}': stack_.push_back(Value::make(Value::Kind::Dict)); break;
      case 'l': {  // LIST
        Ref v = Value::make(Value::Kind::List);
        v->items = pop_to_mark();
        stack_.push_back(v);
        break;
      }
      case 't': {  // TUPLE
        Ref v = Value::make(Value::Kind::Tuple);
        v->items = pop_to_mark();
        stack_.push_back(v);
        break;
      }
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        const std::size_t n = op - 0x84u;
        Ref v = Value::make(Value::Kind::Tuple);
        v->items.resize(n);
        for (std::size_t i = n; i-- > 0;) v->items[i] = pop();
        stack_.push_back(v);
        break;
      }
      case 'd': {  // DICT
        auto items = pop_to_mark();
        Ref v = Value::make(Value::Kind::Dict);
        for (std::size_t i = 0; i + 1 < items.size(); i += 2) v->entries.emplace_back(items[i], items[i + 1]);
        stack_.push_back(v);
        break;
      }
      case 'a': {  // APPEND
        Ref item = pop();
        if (top()->kind == Value::Kind::List) top()->items.push_back(item);
        break;
      }
      case 'e': {  // APPENDS
        auto items = pop_to_mark();
        if (top()->kind == Value::Kind::List) top()->items.insert(top()->items.end(), items.begin(), items.end());
        break;
      }
      case 's': {  // SETITEM
        Ref value = pop();
        Ref key = pop();
        if (top()->kind == Value::Kind::Dict) top()->entries.emplace_back(key, value);
        break;
      }
      case 'u': {  // SETITEMS
        auto items = pop_to_mark();
        if (items.size() % 2) fail("SETITEMS with an odd number of items");
        if (top()->kind == Value::Kind::Dict)
          for (std::size_t i = 0; i < items.size(); i += 2) top()->entries.emplace_back(items[i], items[i + 1]);
        break;
      }
      case 'q': memo_[byte()] = top(); break;   // BINPUT
      case 'r': memo_[u32()] = top(); break;    // LONG_BINPUT
      case 0x94: memo_[static_cast<std::uint32_t>(memo_.size())] = top(); break;  // MEMOIZE
      case 'h': case 'j': {                     // BINGET, LONG_BINGET
        const std::uint32_t key = op == 'h' ? byte() : u32();
        auto it = memo_.find(key);
        if (it == memo_.end()) fail("reference to an unknown memo entry");
        stack_.push_back(it->second);
        break;
      }
      case 'c': {  // GLOBAL
        const std::string module = line();
        Ref v = Value::make(Value::Kind::Global);
        v->text = module + "." + line();
        stack_.push_back(v);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Ref name = pop();
        Ref module = pop();
        Ref v = Value::make(Value::Kind::Global);
        v->text = module->text + "." + name->text;
        stack_.push_back(v);
        break;
      }
      case 'R': reduce(); break;
      case 0x81: {  // NEWOBJ
        Ref args = pop();
        Ref object = Value::make(Value::Kind::Object);
        object->callable = pop();
        object->items = args->items;
        stack_.push_back(object);
        break;
      }
      case 'b': {  // BUILD: an OrderedDict's metadata, an object's state
        Ref state = pop();
        if (top()->kind == Value::Kind::Object) top()->state = state;
        break;
      }
      case 'Q': {  // BINPERSID
        Ref id = pop();
        if (!storages_) fail("a persistent reference outside a PyTorch checkpoint");
        Ref v = Value::make(Value::Kind::Tensor);
        v->tensor = storages_(*id);
        stack_.push_back(v);
        break;
      }
      case '0': pop(); break;  // POP
      case '2': stack_.push_back(top()); break;  // DUP
      default: {
        char hex[8];
        std::snprintf(hex, sizeof(hex), "0x%02x", op);
        fail(std::string("unsupported pickle opcode ") + hex);
      }
    }
  }
}

}  // namespace segdistill::pickle
