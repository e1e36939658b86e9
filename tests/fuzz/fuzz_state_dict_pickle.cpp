// SPDX-License-Identifier: MIT
// libFuzzer target for the state-dict pickle reader of `repvk-train import`.
// PickleError is the only acceptable failure; anything else escaping, a sanitizer
// report or a leak is a bug. Accepted tensors must lie inside their storage.
#include <cstdlib>

#include "import/state_dict_pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace repvk::train::pickle;
  Limits limits;
  limits.max_values = 1 << 16;  // keeps each input's memory small under ASan
  try {
    const StateDict sd = parse_state_dict_pickle(data, size, limits);
    for (const auto& [name, t] : sd.tensors) {
      if (t.sizes.size() != t.strides.size()) std::abort();
      if (t.numel() > 0) {
        uint64_t last = t.offset;
        for (size_t d = 0; d < t.sizes.size(); ++d) last += uint64_t(t.sizes[d] - 1) * uint64_t(t.strides[d]);
        if (last >= t.storage_numel) std::abort();
      }
    }
  } catch (const PickleError&) {
  }
  return 0;
}
