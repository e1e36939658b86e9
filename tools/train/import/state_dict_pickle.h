// SPDX-License-Identifier: MIT
// Reader for the pickle (data.pkl) that torch.save writes for a state dict: a dict or
// OrderedDict of str -> tensor, possibly inside a wrapper dict ({"state_dict": ...},
// {"model": ...}, with other entries such as epoch numbers or optimizer state).
//
// Only the opcode subset torch.save emits for such data is accepted (protocol 2,
// plus FRAME / MEMOIZE / STACK_GLOBAL of protocols 4-5); anything else is refused by
// opcode name, and the only callables are collections.OrderedDict,
// torch._utils._rebuild_tensor_v2 and the torch.*Storage types. Nothing is executed,
// every read is bounded by the input, and the parser allocates at most a small
// multiple of the input size. It has no libtorch dependency, so it can be fuzzed
// (tests/fuzz/fuzz_state_dict_pickle.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace repvk::train::pickle {

class PickleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ScalarType { Float32, Float16, BFloat16, Float64, Int64, Int32, Int16, Int8, UInt8, Bool };
const char* scalar_type_name(ScalarType t);
size_t scalar_type_bytes(ScalarType t);

// A tensor as pickled: a view (offset, sizes, strides, in elements) into a storage
// that lives in the archive as record data/<storage_key>. The view is checked to lie
// inside storage_numel elements.
struct TensorRef {
  std::string storage_key;
  ScalarType dtype = ScalarType::Float32;
  uint64_t storage_numel = 0;
  uint64_t offset = 0;
  std::vector<int64_t> sizes, strides;
  uint64_t numel() const;
};

struct StateDict {
  std::vector<std::pair<std::string, TensorRef>> tensors;  // in file order
  std::string wrapper_key;  // "" (top level), "state_dict" or "model"
};

struct Limits {
  size_t max_values = size_t(1) << 22;  // objects built while unpickling
  size_t max_memo = size_t(1) << 22;
  size_t max_stack = size_t(1) << 20;
  size_t max_dims = 8;
};

// Parses `size` bytes of data.pkl. Throws PickleError saying what was wrong and at
// which byte offset.
StateDict parse_state_dict_pickle(const uint8_t* data, size_t size, const Limits& limits = {});

}  // namespace repvk::train::pickle
