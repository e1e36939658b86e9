// SPDX-License-Identifier: MIT
#include "import/state_dict_pickle.h"

#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <unordered_map>

namespace repvk::train::pickle {
namespace {

// Objects live in one arena and refer to each other by index: no ownership cycles,
// no recursive destruction, whatever the memo references do.
enum class Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, Tensor, Mark };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
    case Kind::Mark: return "mark";
  }
  return "?";
}

struct Value {
  Kind kind = Kind::None;
  int64_t i = 0;
  std::string s;                // Str; Global: "module.name"; Storage: key
  std::vector<uint32_t> items;  // Tuple, List; Dict: key0, value0, key1, value1, ...
  ScalarType dtype = ScalarType::Float32;  // Global of a storage type, Storage
  uint32_t tensor = 0;          // Tensor: index into tensors
};

const char* opcode_name(uint8_t op) {
  switch (op) {
    case '(': return "MARK";        case '.': return "STOP";        case '0': return "POP";
    case '1': return "POP_MARK";    case '2': return "DUP";         case 'F': return "FLOAT";
    case 'I': return "INT";         case 'J': return "BININT";      case 'K': return "BININT1";
    case 'L': return "LONG";        case 'M': return "BININT2";     case 'N': return "NONE";
    case 'P': return "PERSID";      case 'Q': return "BINPERSID";   case 'R': return "REDUCE";
    case 'S': return "STRING";      case 'T': return "BINSTRING";   case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";     case 'X': return "BINUNICODE";  case 'a': return "APPEND";
    case 'b': return "BUILD";       case 'c': return "GLOBAL";      case 'd': return "DICT";
    case '}': return "EMPTY_DICT";  case 'e': return "APPENDS";     case 'g': return "GET";
    case 'h': return "BINGET";      case 'i': return "INST";        case 'j': return "LONG_BINGET";
    case 'l': return "LIST";        case ']': return "EMPTY_LIST";  case 'o': return "OBJ";
    case 'p': return "PUT";         case 'q': return "BINPUT";      case 'r': return "LONG_BINPUT";
    case 's': return "SETITEM";     case 't': return "TUPLE";       case ')': return "EMPTY_TUPLE";
    case 'u': return "SETITEMS";    case 'G': return "BINFLOAT";    case 0x80: return "PROTO";
    case 0x81: return "NEWOBJ";     case 0x82: return "EXT1";       case 0x83: return "EXT2";
    case 0x84: return "EXT4";       case 0x85: return "TUPLE1";     case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";     case 0x88: return "NEWTRUE";    case 0x89: return "NEWFALSE";
    case 0x8a: return "LONG1";      case 0x8b: return "LONG4";      case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES"; case 0x8c: return "SHORT_BINUNICODE"; case 0x8d: return "BINUNICODE8";
    case 0x8e: return "BINBYTES8";  case 0x8f: return "EMPTY_SET";  case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";  case 0x92: return "NEWOBJ_EX";  case 0x93: return "STACK_GLOBAL";
    case 0x94: return "MEMOIZE";    case 0x95: return "FRAME";      case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER"; case 0x98: return "READONLY_BUFFER";
    default: return nullptr;
  }
}

bool storage_type(const std::string& name, ScalarType& t) {
  static const std::map<std::string, ScalarType> types = {
      {"torch.FloatStorage", ScalarType::Float32}, {"torch.HalfStorage", ScalarType::Float16},
      {"torch.BFloat16Storage", ScalarType::BFloat16}, {"torch.DoubleStorage", ScalarType::Float64},
      {"torch.LongStorage", ScalarType::Int64},   {"torch.IntStorage", ScalarType::Int32},
      {"torch.ShortStorage", ScalarType::Int16},  {"torch.CharStorage", ScalarType::Int8},
      {"torch.ByteStorage", ScalarType::UInt8},   {"torch.BoolStorage", ScalarType::Bool}};
  auto it = types.find(name);
  if (it == types.end()) return false;
  t = it->second;
  return true;
}

class Unpickler {
 public:
  Unpickler(const uint8_t* d, size_t n, const Limits& l) : data_(d), size_(n), limits_(l) {}

  StateDict run();

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw PickleError("data.pkl: byte " + std::to_string(op_pos_) + ": " + why);
  }
  void need(size_t n) const {
    if (size_ - pos_ < n) fail("truncated (needs " + std::to_string(n) + " more bytes)");
  }
  uint64_t read_le(size_t n) {
    need(n);
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k) v |= uint64_t(data_[pos_ + k]) << (8 * k);
    pos_ += n;
    return v;
  }
  std::string read_bytes(uint64_t n) {
    if (n > size_ - pos_) fail("string of " + std::to_string(n) + " bytes runs past the end");
    std::string s(reinterpret_cast<const char*>(data_ + pos_), size_t(n));
    pos_ += size_t(n);
    return s;
  }
  std::string read_line() {
    const size_t start = pos_;
    while (pos_ < size_ && data_[pos_] != '\n') ++pos_;
    if (pos_ == size_) fail("GLOBAL name runs past the end");
    std::string s(reinterpret_cast<const char*>(data_ + start), pos_ - start);
    ++pos_;
    return s;
  }

  uint32_t make(Value v) {
    if (values_.size() >= limits_.max_values) fail("too many objects");
    values_.push_back(std::move(v));
    return uint32_t(values_.size() - 1);
  }
  void push(uint32_t v) {
    if (stack_.size() >= limits_.max_stack) fail("stack too deep");
    stack_.push_back(v);
  }
  uint32_t pop() {
    if (stack_.empty() || values_[stack_.back()].kind == Kind::Mark) fail("stack underflow");
    const uint32_t v = stack_.back();
    stack_.pop_back();
    return v;
  }
  uint32_t top() {
    if (stack_.empty() || values_[stack_.back()].kind == Kind::Mark) fail("stack underflow");
    return stack_.back();
  }
  // Pops everything above the topmost mark, and the mark.
  std::vector<uint32_t> pop_mark() {
    size_t k = stack_.size();
    while (k > 0 && values_[stack_[k - 1]].kind != Kind::Mark) --k;
    if (k == 0) fail("no MARK on the stack");
    std::vector<uint32_t> items(stack_.begin() + long(k), stack_.end());
    stack_.resize(k - 1);
    return items;
  }
  uint32_t make_tuple(std::vector<uint32_t> items) {
    Value v;
    v.kind = Kind::Tuple;
    v.items = std::move(items);
    return make(std::move(v));
  }
  void memo_put(uint64_t key) {
    if (memo_.size() >= limits_.max_memo && !memo_.count(key)) fail("memo too large");
    memo_[key] = top();
  }
  void memo_get(uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) fail("memo key " + std::to_string(key) + " was never stored");
    push(it->second);
  }
  Value& at(uint32_t v) { return values_[v]; }

  void global(const std::string& module, const std::string& name);
  void reduce();
  void persistent_id();
  int64_t as_int(uint32_t v, const char* what) {
    if (at(v).kind != Kind::Int) fail(std::string(what) + " is a " + kind_name(at(v).kind) + ", not an int");
    return at(v).i;
  }
  std::vector<int64_t> int_tuple(uint32_t v, const char* what);
  StateDict extract(uint32_t root);

  const uint8_t* data_;
  size_t size_, pos_ = 0, op_pos_ = 0;
  Limits limits_;
  std::vector<Value> values_;
  std::vector<uint32_t> stack_;
  std::unordered_map<uint64_t, uint32_t> memo_;
  std::vector<TensorRef> tensors_;
};

void Unpickler::global(const std::string& module, const std::string& name) {
  const std::string full = module + "." + name;
  Value v;
  v.kind = Kind::Global;
  v.s = full;
  if (full != "collections.OrderedDict" && full != "torch._utils._rebuild_tensor_v2" &&
      !storage_type(full, v.dtype))
    fail("refuses global '" + full +
         "': only OrderedDict, tensors and storages are read (a pickled module or object? "
         "save model.state_dict() instead)");
  push(make(std::move(v)));
}

std::vector<int64_t> Unpickler::int_tuple(uint32_t v, const char* what) {
  if (at(v).kind != Kind::Tuple) fail(std::string(what) + " is not a tuple");
  if (at(v).items.size() > limits_.max_dims)
    fail(std::string(what) + " has " + std::to_string(at(v).items.size()) + " dimensions");
  std::vector<int64_t> out;
  for (uint32_t item : at(v).items) {
    const int64_t x = as_int(item, what);
    if (x < 0 || x > (int64_t(1) << 40)) fail(std::string(what) + " has entry " + std::to_string(x));
    out.push_back(x);
  }
  return out;
}

void Unpickler::reduce() {
  const uint32_t args = pop();
  const uint32_t fn = pop();
  if (at(fn).kind != Kind::Global) fail("REDUCE of a " + std::string(kind_name(at(fn).kind)));
  if (at(args).kind != Kind::Tuple) fail("REDUCE arguments are not a tuple");
  const std::vector<uint32_t> a = at(args).items;
  if (at(fn).s == "collections.OrderedDict") {
    if (!a.empty()) fail("OrderedDict called with arguments");
    Value d;
    d.kind = Kind::Dict;
    push(make(std::move(d)));
    return;
  }
  if (at(fn).s != "torch._utils._rebuild_tensor_v2") fail("cannot call '" + at(fn).s + "'");
  // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (a.size() < 6 || a.size() > 7) fail("_rebuild_tensor_v2 with " + std::to_string(a.size()) + " arguments");
  if (at(a[0]).kind != Kind::Storage) fail("_rebuild_tensor_v2: first argument is not a storage");
  TensorRef t;
  t.storage_key = at(a[0]).s;
  t.dtype = at(a[0]).dtype;
  t.storage_numel = uint64_t(at(a[0]).i);
  const int64_t offset = as_int(a[1], "storage offset");
  if (offset < 0) fail("negative storage offset");
  t.offset = uint64_t(offset);
  t.sizes = int_tuple(a[2], "tensor size");
  t.strides = int_tuple(a[3], "tensor stride");
  if (t.sizes.size() != t.strides.size()) fail("tensor size and stride differ in length");
  // The view's element count and the last element it touches must be representable
  // and the latter must lie inside the storage.
  uint64_t numel = 1, last = t.offset;
  for (size_t d = 0; d < t.sizes.size(); ++d)
    if (__builtin_mul_overflow(numel, uint64_t(t.sizes[d]), &numel) || numel > (uint64_t(1) << 40))
      fail("tensor has too many elements");
  if (numel > 0) {
    for (size_t d = 0; d < t.sizes.size(); ++d) {
      uint64_t step = 0;
      if (__builtin_mul_overflow(uint64_t(t.sizes[d] - 1), uint64_t(t.strides[d]), &step) ||
          __builtin_add_overflow(last, step, &last))
        fail("tensor view overflows");
    }
    if (last >= t.storage_numel)
      fail("tensor view reaches element " + std::to_string(last) + " of a storage of " +
           std::to_string(t.storage_numel));
  }
  tensors_.push_back(std::move(t));
  Value v;
  v.kind = Kind::Tensor;
  v.tensor = uint32_t(tensors_.size() - 1);
  push(make(std::move(v)));
}

void Unpickler::persistent_id() {
  // ('storage', storage_type, key, location, numel)
  const uint32_t pid = pop();
  const Value& p = at(pid);
  if (p.kind != Kind::Tuple || p.items.size() != 5) fail("persistent id is not a 5-tuple");
  const std::vector<uint32_t> a = p.items;
  if (at(a[0]).kind != Kind::Str || at(a[0]).s != "storage") fail("persistent id is not a storage");
  if (at(a[1]).kind != Kind::Global || at(a[1]).s.find("Storage") == std::string::npos)
    fail("persistent id without a storage type");
  if (at(a[2]).kind != Kind::Str) fail("storage key is not a string");
  const int64_t numel = as_int(a[4], "storage size");
  if (numel < 0 || numel > (int64_t(1) << 40)) fail("storage size " + std::to_string(numel));
  Value v;
  v.kind = Kind::Storage;
  v.s = at(a[2]).s;
  v.dtype = at(a[1]).dtype;
  v.i = numel;
  push(make(std::move(v)));
}

StateDict Unpickler::extract(uint32_t root) {
  auto is_tensor_dict = [&](uint32_t d) {
    const auto& it = at(d).items;
    for (size_t k = 0; k + 1 < it.size(); k += 2)
      if (at(it[k + 1]).kind == Kind::Tensor) return true;
    return false;
  };
  if (at(root).kind != Kind::Dict) fail(std::string("top-level object is a ") + kind_name(at(root).kind) + ", not a dict");
  StateDict out;
  uint32_t sd = root;
  if (!is_tensor_dict(root)) {
    bool found = false;
    for (const char* key : {"state_dict", "model"}) {
      const auto& it = at(root).items;
      for (size_t k = 0; k + 1 < it.size() && !found; k += 2)
        if (at(it[k]).kind == Kind::Str && at(it[k]).s == key && at(it[k + 1]).kind == Kind::Dict) {
          sd = it[k + 1];
          out.wrapper_key = key;
          found = true;
        }
      if (found) break;
    }
    if (!found) {
      std::string keys;
      const auto& it = at(root).items;
      for (size_t k = 0; k + 1 < it.size() && k < 20; k += 2)
        if (at(it[k]).kind == Kind::Str) keys += (keys.empty() ? "" : ", ") + at(it[k]).s;
      throw PickleError("the checkpoint's dict holds no tensors and no 'state_dict' or 'model' dict (keys: " +
                        (keys.empty() ? std::string("none") : keys) + ")");
    }
  }
  const auto& it = at(sd).items;
  for (size_t k = 0; k + 1 < it.size(); k += 2) {
    if (at(it[k]).kind != Kind::Str) throw PickleError("state dict has a non-string key");
    const std::string& name = at(it[k]).s;
    if (at(it[k + 1]).kind != Kind::Tensor)
      throw PickleError("state dict entry '" + name + "' is a " + kind_name(at(it[k + 1]).kind) +
                        ", not a tensor");
    out.tensors.emplace_back(name, tensors_[at(it[k + 1]).tensor]);
  }
  return out;
}

StateDict Unpickler::run() {
  while (true) {
    op_pos_ = pos_;
    need(1);
    const uint8_t op = data_[pos_++];
    switch (op) {
      case 0x80: {  // PROTO
        const uint64_t v = read_le(1);
        if (v < 2 || v > 5) fail("pickle protocol " + std::to_string(v));
        break;
      }
      case 0x95: read_le(8); break;  // FRAME: a framing hint only
      case '(': { Value m; m.kind = Kind::Mark; push(make(std::move(m))); break; }
      case '.': {
        const uint32_t root = pop();
        return extract(root);
      }
      case 'N': push(make(Value{})); break;
      case 0x88: case 0x89: {
        Value v; v.kind = Kind::Bool; v.i = op == 0x88; push(make(std::move(v))); break;
      }
      case 'J': case 'K': case 'M': {
        Value v; v.kind = Kind::Int;
        if (op == 'J') v.i = int32_t(uint32_t(read_le(4)));
        else v.i = int64_t(read_le(op == 'K' ? 1 : 2));
        push(make(std::move(v)));
        break;
      }
      case 0x8a: {  // LONG1: little-endian two's complement of n bytes
        const uint64_t n = read_le(1);
        if (n > 8) fail("LONG1 of " + std::to_string(n) + " bytes");
        uint64_t raw = n ? read_le(size_t(n)) : 0;
        if (n > 0 && n < 8 && (raw >> (8 * n - 1)) & 1) raw |= ~uint64_t(0) << (8 * n);
        Value v; v.kind = Kind::Int; v.i = int64_t(raw); push(make(std::move(v)));
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        need(8);
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = bits << 8 | data_[pos_ + size_t(k)];
        pos_ += 8;
        Value v; v.kind = Kind::Float; std::memcpy(&v.i, &bits, 8); push(make(std::move(v)));
        break;
      }
      case 'X': case 0x8c: {
        const uint64_t n = read_le(op == 'X' ? 4 : 1);
        Value v; v.kind = Kind::Str; v.s = read_bytes(n); push(make(std::move(v)));
        break;
      }
      case 'c': {
        const std::string module = read_line();
        const std::string name = read_line();
        global(module, name);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        const uint32_t name = pop(), module = pop();
        if (at(name).kind != Kind::Str || at(module).kind != Kind::Str) fail("STACK_GLOBAL of non-strings");
        global(at(module).s, at(name).s);
        break;
      }
      case '}': case ']': case ')': {
        Value v; v.kind = op == '}' ? Kind::Dict : op == ']' ? Kind::List : Kind::Tuple;
        push(make(std::move(v)));
        break;
      }
      case 't': push(make_tuple(pop_mark())); break;
      case 0x85: case 0x86: case 0x87: {
        std::vector<uint32_t> items(size_t(op - 0x84));
        for (size_t k = items.size(); k-- > 0;) items[k] = pop();
        push(make_tuple(std::move(items)));
        break;
      }
      case 'q': memo_put(read_le(1)); break;
      case 'r': memo_put(read_le(4)); break;
      case 0x94: memo_put(memo_.size()); break;
      case 'h': memo_get(read_le(1)); break;
      case 'j': memo_get(read_le(4)); break;
      case 'Q': persistent_id(); break;
      case 'R': reduce(); break;
      case 's': {
        const uint32_t v = pop(), k = pop();
        const uint32_t d = top();
        if (at(d).kind != Kind::Dict) fail("SETITEM on a " + std::string(kind_name(at(d).kind)));
        at(d).items.push_back(k);
        at(d).items.push_back(v);
        break;
      }
      case 'u': {
        std::vector<uint32_t> items = pop_mark();
        const uint32_t d = top();
        if (at(d).kind != Kind::Dict) fail("SETITEMS on a " + std::string(kind_name(at(d).kind)));
        if (items.size() % 2) fail("SETITEMS with an odd number of items");
        at(d).items.insert(at(d).items.end(), items.begin(), items.end());
        break;
      }
      case 'a': {
        const uint32_t v = pop();
        const uint32_t l = top();
        if (at(l).kind != Kind::List) fail("APPEND to a " + std::string(kind_name(at(l).kind)));
        at(l).items.push_back(v);
        break;
      }
      case 'e': {
        std::vector<uint32_t> items = pop_mark();
        const uint32_t l = top();
        if (at(l).kind != Kind::List) fail("APPENDS to a " + std::string(kind_name(at(l).kind)));
        at(l).items.insert(at(l).items.end(), items.begin(), items.end());
        break;
      }
      case 'b': {  // BUILD: OrderedDict state (e.g. state_dict()'s _metadata) is not needed
        pop();
        const uint32_t obj = top();
        if (at(obj).kind != Kind::Dict) fail("BUILD on a " + std::string(kind_name(at(obj).kind)));
        break;
      }
      default: {
        const char* name = opcode_name(op);
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", unsigned(op));
        fail(std::string("opcode ") + hex + (name ? std::string(" (") + name + ")" : std::string(" (unknown)")) +
             " is outside the subset torch.save writes for a state dict");
      }
    }
  }
}

}  // namespace

const char* scalar_type_name(ScalarType t) {
  switch (t) {
    case ScalarType::Float32: return "float32";
    case ScalarType::Float16: return "float16";
    case ScalarType::BFloat16: return "bfloat16";
    case ScalarType::Float64: return "float64";
    case ScalarType::Int64: return "int64";
    case ScalarType::Int32: return "int32";
    case ScalarType::Int16: return "int16";
    case ScalarType::Int8: return "int8";
    case ScalarType::UInt8: return "uint8";
    case ScalarType::Bool: return "bool";
  }
  return "?";
}

size_t scalar_type_bytes(ScalarType t) {
  switch (t) {
    case ScalarType::Float64: case ScalarType::Int64: return 8;
    case ScalarType::Float32: case ScalarType::Int32: return 4;
    case ScalarType::Float16: case ScalarType::BFloat16: case ScalarType::Int16: return 2;
    default: return 1;
  }
}

uint64_t TensorRef::numel() const {
  uint64_t n = 1;
  for (int64_t s : sizes) n *= uint64_t(s);  // at most 2^40: checked when parsed
  return n;
}

StateDict parse_state_dict_pickle(const uint8_t* data, size_t size, const Limits& limits) {
  return Unpickler(data, size, limits).run();
}

}  // namespace repvk::train::pickle
