#include "checkpoint/pickle_reader.hpp"

#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include <ATen/ATen.h>

#include "segdistill/core/error.hpp"

namespace segdistill::pickle {

const char* kind_name(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::None:
      return "None";
    case Value::Kind::Bool:
      return "bool";
    case Value::Kind::Int:
      return "int";
    case Value::Kind::BigInt:
      return "int";
    case Value::Kind::Float:
      return "float";
    case Value::Kind::String:
      return "str";
    case Value::Kind::Bytes:
      return "bytes";
    case Value::Kind::List:
      return "list";
    case Value::Kind::Tuple:
      return "tuple";
    case Value::Kind::Dict:
      return "dict";
    case Value::Kind::Global:
      return "class";
    case Value::Kind::Object:
      return "object";
    case Value::Kind::Tensor:
      return "tensor";
    case Value::Kind::Mark:
      return "mark";
  }
  return "?";
}

at::ScalarType storage_dtype(const std::string& storage_class, const std::string& source) {
  static const std::pair<const char*, at::ScalarType> kinds[] = {{"FloatStorage", at::kFloat}, {"DoubleStorage", at::kDouble},
                                                                 {"HalfStorage", at::kHalf},   {"BFloat16Storage", at::kBFloat16},
                                                                 {"LongStorage", at::kLong},   {"IntStorage", at::kInt},
                                                                 {"ShortStorage", at::kShort}, {"CharStorage", at::kChar},
                                                                 {"ByteStorage", at::kByte},   {"BoolStorage", at::kBool}};
  const std::string name = storage_class.substr(storage_class.rfind('.') + 1);
  for (const auto& [k, type] : kinds)
    if (name == k) return type;
  throw Error(source + ": unsupported tensor storage type '" + storage_class + "'");
}

namespace {

// The opcodes torch.save (protocols 2 to 4) and torch::pickle_save emit.
enum Op : std::uint8_t {
  kProto = 0x80,
  kFrame = 0x95,
  kStop = '.',
  kMark = '(',
  kPop = '0',
  kDup = '2',
  kNone = 'N',
  kNewTrue = 0x88,
  kNewFalse = 0x89,
  kBinInt = 'J',
  kBinInt1 = 'K',
  kBinInt2 = 'M',
  kLong1 = 0x8a,
  kLong4 = 0x8b,
  kBinFloat = 'G',
  kBinUnicode = 'X',
  kShortBinUnicode = 0x8c,
  kBinUnicode8 = 0x8d,
  kShortBinString = 'U',
  kBinString = 'T',
  kBinBytes = 'B',
  kShortBinBytes = 'C',
  kBinBytes8 = 0x8e,
  kEmptyList = ']',
  kEmptyTuple = ')',
  kEmptyDict = '}',
  kList = 'l',
  kTuple = 't',
  kTuple1 = 0x85,
  kTuple2 = 0x86,
  kTuple3 = 0x87,
  kDict = 'd',
  kAppend = 'a',
  kAppends = 'e',
  kSetItem = 's',
  kSetItems = 'u',
  kBinPut = 'q',
  kLongBinPut = 'r',
  kMemoize = 0x94,
  kBinGet = 'h',
  kLongBinGet = 'j',
  kGlobal = 'c',
  kStackGlobal = 0x93,
  kReduce = 'R',
  kNewObj = 0x81,
  kBuild = 'b',
  kBinPersId = 'Q',
};

// The values directly under `value`, in a fixed order.
template <typename F>
void for_each_child(const Value& value, F&& f) {
  for (const auto& item : value.items) f(item.get());
  for (const auto& [key, item] : value.entries) {
    f(key.get());
    f(item.get());
  }
  if (value.callable) f(value.callable.get());
  if (value.state) f(value.state.get());
}

void unlink(Value& value) {
  value.items.clear();
  value.entries.clear();
  value.callable.reset();
  value.state.reset();
}

}  // namespace

Reader::Reader(const char* data, std::size_t size, std::string source, ReaderMemoryBudget& budget, StorageLoader storages)
    : data_(data), size_(size), source_(std::move(source)), budget_(budget), storages_(std::move(storages)) {}

void Reader::charge_slots(std::size_t count) { budget_.charge(count * sizeof(Ref), "pickle containers"); }

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

Ref Reader::make(Value::Kind kind) {
  budget_.charge(kValueCost, "pickle values");
  Ref v = Value::make(kind);
  created_.push_back(v);
  return v;
}

void Reader::push(Ref value) {
  // DUP can grow the stack without new values: its high-water mark is charged.
  if (stack_.size() + 1 > stack_peak_) {
    charge_slots(1);
    stack_peak_ = stack_.size() + 1;
  }
  stack_.push_back(std::move(value));
}

Ref Reader::pop() {
  if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("stack underflow");
  Ref v = std::move(stack_.back());
  stack_.pop_back();
  return v;
}

Ref& Reader::top() {
  if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("stack underflow");
  return stack_.back();
}

std::vector<Ref> Reader::pop_to_mark() {
  if (marks_.empty()) fail("no mark on the stack");
  const std::size_t mark = marks_.back();
  marks_.pop_back();
  charge_slots(stack_.size() - mark);
  std::vector<Ref> items(std::make_move_iterator(stack_.begin() + static_cast<long>(mark)),
                         std::make_move_iterator(stack_.end()));
  stack_.resize(mark);
  return items;
}

namespace {

std::vector<std::int64_t> int_tuple(const Ref& value, const std::string& source) {
  if (!value || (value->kind != Value::Kind::Tuple && value->kind != Value::Kind::List))
    throw Error(source + ": a tensor's size or stride is not a tuple");
  if (value->items.size() > Reader::kMaxTensorDims)
    throw Error(source + ": a tensor with " + std::to_string(value->items.size()) + " dimensions (at most " +
                std::to_string(Reader::kMaxTensorDims) + ")");
  std::vector<std::int64_t> out;
  for (const auto& item : value->items) {
    if (item->kind != Value::Kind::Int || item->integer < 0)
      throw Error(source + ": a tensor's size or stride holds something other than a non-negative integer");
    out.push_back(item->integer);
  }
  return out;
}

}  // namespace

Ref Reader::rebuild_tensor(const std::vector<Ref>& args) {
  if (args.size() < 4 || args[0]->kind != Value::Kind::Tensor || args[1]->kind != Value::Kind::Int)
    fail("unexpected arguments to torch._utils._rebuild_tensor");
  const at::Tensor& storage = args[0]->tensor;
  const auto sizes = int_tuple(args[2], source_);
  const auto strides = int_tuple(args[3], source_);
  if (sizes.size() != strides.size()) fail("a tensor's size and stride have different lengths");
  // The element count, computed as LibTorch will compute it (every size multiplied, a
  // zero included), must fit 64 bits; then the view's bytes are charged: a stride-0 view
  // of a few stored bytes may declare gigabytes, which the non-finite check or a
  // contiguous copy would materialise.
  std::uint64_t elements = 1;
  bool overflows = false;
  for (const std::int64_t size : sizes)
    overflows |= __builtin_mul_overflow(elements, static_cast<std::uint64_t>(size), &elements);
  if (overflows || elements > static_cast<std::uint64_t>(INT64_MAX))
    fail("a tensor's sizes multiply past 2^63 elements (corrupt or hostile file)");
  const auto element_size = static_cast<std::uint64_t>(storage.element_size());
  if (elements > UINT64_MAX / element_size) fail("a tensor's sizes multiply past 2^64 bytes (corrupt or hostile file)");
  budget_.charge(elements * element_size, "tensor views");
  const std::int64_t offset = args[1]->integer;
  const std::int64_t numel = storage.numel();
  if (offset < 0 || offset > numel) fail("a tensor starts outside its storage");
  if (std::find(sizes.begin(), sizes.end(), 0) == sizes.end()) {
    // The last element the view touches must lie inside the storage. Each step is
    // checked against the room left, so nothing here overflows.
    if (offset >= numel) fail("a tensor reaches past the end of its storage");
    std::int64_t last = offset;
    for (std::size_t d = 0; d < sizes.size(); ++d) {
      const std::int64_t span = sizes[d] - 1;
      if (span > 0 && strides[d] > (numel - 1 - last) / span) fail("a tensor reaches past the end of its storage");
      last += span * strides[d];
    }
  }
  Ref out = make(Value::Kind::Tensor);
  out->tensor = storage.as_strided(sizes, strides, offset);
  return out;
}

void Reader::insert(Value& container, Ref item) {
  if (container.kind != Value::Kind::List) return;
  charge_slots(1);
  container.items.push_back(std::move(item));
}

void Reader::push_constant(std::uint8_t op) {
  if (op == kNone) return push(make(Value::Kind::None));
  Ref v = make(Value::Kind::Bool);
  v->boolean = op == kNewTrue;
  push(v);
}

void Reader::push_integer(std::uint8_t op) {
  if (op == kLong1 || op == kLong4) {
    const std::size_t n = op == kLong1 ? byte() : u32();
    const auto* p = reinterpret_cast<const unsigned char*>(take(n));
    if (n > 8) {
      budget_.charge(n, "pickle integers");
      Ref v = make(Value::Kind::BigInt);
      v->text.assign(reinterpret_cast<const char*>(p), n);
      return push(v);
    }
    std::uint64_t bits = 0;
    for (std::size_t i = 0; i < n; ++i) bits |= static_cast<std::uint64_t>(p[i]) << (8 * i);
    if (n > 0 && n < 8 && (p[n - 1] & 0x80)) bits |= ~std::uint64_t{0} << (8 * n);  // sign-extend
    Ref v = make(Value::Kind::Int);
    v->integer = static_cast<std::int64_t>(bits);
    return push(v);
  }
  Ref v = make(Value::Kind::Int);
  if (op == kBinInt)
    v->integer = static_cast<std::int32_t>(u32());
  else if (op == kBinInt1)
    v->integer = byte();
  else {
    const std::uint32_t lo = byte();
    v->integer = static_cast<std::int64_t>(lo | (static_cast<std::uint32_t>(byte()) << 8));
  }
  push(v);
}

void Reader::push_float() {  // big-endian IEEE double
  const auto* p = reinterpret_cast<const unsigned char*>(take(8));
  std::uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits = bits << 8 | p[i];
  Ref v = make(Value::Kind::Float);
  std::memcpy(&v->floating, &bits, 8);
  push(v);
}

void Reader::push_text(std::uint8_t op) {
  std::size_t n = 0;
  if (op == kShortBinUnicode || op == kShortBinString || op == kShortBinBytes)
    n = byte();
  else if (op == kBinUnicode8 || op == kBinBytes8) {
    const std::uint64_t lo = u32();
    const std::uint64_t length = lo | static_cast<std::uint64_t>(u32()) << 32;
    if (length > size_ - pos_) fail("the data ends early (truncated file?)");
    n = static_cast<std::size_t>(length);
  } else
    n = u32();
  const bool bytes = op == kBinBytes || op == kShortBinBytes || op == kBinBytes8;
  Ref v = make(bytes ? Value::Kind::Bytes : Value::Kind::String);
  budget_.charge(n, "pickle strings");
  v->text.assign(take(n), n);
  push(v);
}

void Reader::build_container(std::uint8_t op) {
  switch (op) {
    case kEmptyList:
      return push(make(Value::Kind::List));
    case kEmptyTuple:
      return push(make(Value::Kind::Tuple));
    case kEmptyDict:
      return push(make(Value::Kind::Dict));
    case kList:
    case kTuple: {
      Ref v = make(op == kList ? Value::Kind::List : Value::Kind::Tuple);
      v->items = pop_to_mark();
      return push(v);
    }
    case kDict: {
      auto items = pop_to_mark();
      if (items.size() % 2) fail("DICT with an odd number of items");
      Ref v = make(Value::Kind::Dict);
      charge_slots(items.size());
      for (std::size_t i = 0; i < items.size(); i += 2) v->entries.emplace_back(items[i], items[i + 1]);
      return push(v);
    }
    default: {  // TUPLE1..3
      const std::size_t n = op - kTuple1 + 1u;
      Ref v = make(Value::Kind::Tuple);
      charge_slots(n);
      v->items.resize(n);
      for (std::size_t i = n; i-- > 0;) v->items[i] = pop();
      return push(v);
    }
  }
}

void Reader::add_to_container(std::uint8_t op) {
  if (op == kAppend) {
    Ref item = pop();
    return insert(*top(), std::move(item));
  }
  if (op == kAppends) {
    auto items = pop_to_mark();
    for (auto& item : items) insert(*top(), std::move(item));
    return;
  }
  std::vector<Ref> items;
  if (op == kSetItem) {
    Ref value = pop();
    Ref key = pop();
    items = {key, value};
  } else {
    items = pop_to_mark();
    if (items.size() % 2) fail("SETITEMS with an odd number of items");
  }
  Value& dict = *top();
  if (dict.kind != Value::Kind::Dict) return;
  charge_slots(items.size());
  for (std::size_t i = 0; i < items.size(); i += 2) dict.entries.emplace_back(items[i], items[i + 1]);
}

void Reader::memo_operation(std::uint8_t op) {
  if (op == kBinGet || op == kLongBinGet) {
    const std::uint32_t key = op == kBinGet ? byte() : u32();
    auto it = memo_.find(key);
    if (it == memo_.end()) fail("reference to an unknown memo entry");
    return push(it->second);
  }
  const std::uint32_t key = op == kBinPut ? byte() : op == kLongBinPut ? u32() : static_cast<std::uint32_t>(memo_.size());
  if (memo_.size() >= kMaxMemo && !memo_.count(key)) fail("more than " + std::to_string(kMaxMemo) + " memo entries");
  if (!memo_.count(key)) budget_.charge(kValueCost / 2, "pickle memo entries");
  memo_[key] = top();
}

void Reader::push_global(std::uint8_t op) {
  Ref v = make(Value::Kind::Global);
  if (op == kGlobal) {
    const std::string module = line();
    v->text = module + "." + line();
  } else {
    Ref name = pop();
    Ref module = pop();
    if (module->kind != Value::Kind::String || name->kind != Value::Kind::String)
      fail("STACK_GLOBAL of something other than two strings");
    v->text = module->text + "." + name->text;
  }
  push(v);
}

void Reader::call_or_build(std::uint8_t op) {
  if (op == kBuild) {  // an OrderedDict's metadata, an object's state
    Ref state = pop();
    if (top()->kind == Value::Kind::Object) top()->state = state;
    return;
  }
  if (op == kReduce) return reduce();
  Ref args = pop();  // NEWOBJ
  Ref object = make(Value::Kind::Object);
  object->callable = pop();
  if (args->kind == Value::Kind::Tuple) {
    charge_slots(args->items.size());
    object->items = args->items;
  }
  push(object);
}

void Reader::push_persistent() {
  Ref id = pop();
  if (!storages_) fail("a persistent reference outside a PyTorch checkpoint");
  Ref v = make(Value::Kind::Tensor);
  v->tensor = storages_(*id);
  push(v);
}

void Reader::reduce() {
  Ref args = pop();
  Ref callable = pop();
  const std::string name = callable->kind == Value::Kind::Global ? callable->text : "";
  const std::vector<Ref> empty;
  const std::vector<Ref>& a = args->kind == Value::Kind::Tuple ? args->items : empty;
  if (name == "collections.OrderedDict") {
    Ref dict = make(Value::Kind::Dict);
    if (!a.empty() && a[0]->kind == Value::Kind::List) {
      charge_slots(2 * a[0]->items.size());
      for (const auto& pair : a[0]->items)
        if (pair->kind == Value::Kind::Tuple && pair->items.size() == 2)
          dict->entries.emplace_back(pair->items[0], pair->items[1]);
    }
    push(dict);
  } else if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
    push(rebuild_tensor(a));
  } else if (name == "torch.jit._pickle.restore_type_tag" && !a.empty()) {
    // LibTorch's pickler (torch::pickle_save) tags typed containers; the value is the first argument.
    push(a[0]);
  } else if ((name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") && !a.empty() &&
             a[0]->kind == Value::Kind::Tensor) {
    push(a[0]);
  } else {
    Ref object = make(Value::Kind::Object);
    object->callable = callable;
    charge_slots(a.size());
    object->items = a;
    push(object);
  }
}

std::unordered_set<const Value*> Reader::check_tree(const Value* root) {
  // Depth-first, with an explicit stack; a value met again on the current path is a cycle.
  std::unordered_set<const Value*> on_path, done;
  struct Frame {
    const Value* value;
    std::vector<const Value*> children;
    std::size_t next = 0;
  };
  std::vector<Frame> path;
  const auto enter = [&](const Value* v) {
    if (path.size() >= kMaxDepth) fail("values nested deeper than " + std::to_string(kMaxDepth) + " levels");
    on_path.insert(v);
    Frame frame{v, {}, 0};
    for_each_child(*v, [&](const Value* child) { frame.children.push_back(child); });
    path.push_back(std::move(frame));
  };
  enter(root);
  while (!path.empty()) {
    Frame& frame = path.back();
    if (frame.next == frame.children.size()) {
      on_path.erase(frame.value);
      done.insert(frame.value);
      path.pop_back();
      continue;
    }
    const Value* child = frame.children[frame.next++];
    if (on_path.count(child)) fail("a value that contains itself (a cycle)");
    if (!done.count(child)) enter(child);
  }
  return done;
}

void Reader::release(const std::unordered_set<const Value*>& keep) {
  stack_.clear();
  marks_.clear();
  memo_.clear();
  for (auto& value : created_)
    if (!keep.count(value.get())) unlink(*value);
  created_.clear();
}

Ref Reader::load() {
  release({});
  try {
    for (;;) {
      const std::uint8_t op = byte();
      switch (op) {
        case kProto:
          byte();
          break;
        case kFrame:
          take(8);
          break;
        case kMark:
          if (marks_.size() + 1 > marks_peak_) {
            budget_.charge(sizeof(std::size_t), "pickle marks");
            marks_peak_ = marks_.size() + 1;
          }
          marks_.push_back(stack_.size());
          break;
        case kStop: {
          Ref result = pop();
          release(check_tree(result.get()));
          return result;
        }
        case kPop:
          pop();
          break;
        case kDup:
          push(top());
          break;
        case kNone:
        case kNewTrue:
        case kNewFalse:
          push_constant(op);
          break;
        case kBinInt:
        case kBinInt1:
        case kBinInt2:
        case kLong1:
        case kLong4:
          push_integer(op);
          break;
        case kBinFloat:
          push_float();
          break;
        case kBinUnicode:
        case kShortBinUnicode:
        case kBinUnicode8:
        case kShortBinString:
        case kBinString:
        case kBinBytes:
        case kShortBinBytes:
        case kBinBytes8:
          push_text(op);
          break;
        case kEmptyList:
        case kEmptyTuple:
        case kEmptyDict:
        case kList:
        case kTuple:
        case kTuple1:
        case kTuple2:
        case kTuple3:
        case kDict:
          build_container(op);
          break;
        case kAppend:
        case kAppends:
        case kSetItem:
        case kSetItems:
          add_to_container(op);
          break;
        case kBinPut:
        case kLongBinPut:
        case kMemoize:
        case kBinGet:
        case kLongBinGet:
          memo_operation(op);
          break;
        case kGlobal:
        case kStackGlobal:
          push_global(op);
          break;
        case kReduce:
        case kNewObj:
        case kBuild:
          call_or_build(op);
          break;
        case kBinPersId:
          push_persistent();
          break;
        default: {
          char hex[8];
          std::snprintf(hex, sizeof(hex), "0x%02x", op);
          fail(std::string("unsupported pickle opcode ") + hex);
        }
      }
    }
  } catch (...) {
    release({});
    throw;
  }
}

}  // namespace segdistill::pickle
