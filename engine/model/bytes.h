// SPDX-License-Identifier: MIT
// The writer's output buffer: little-endian fields, fp16 arrays and strings, each
// padded with zeros to a multiple of 4 bytes (docs/model-format.md, "Conventions").
#pragma once

#include <string>
#include <vector>

#include "internal.h"

namespace repvk::detail {

class Bytes {
 public:
  explicit Bytes(uint64_t capacity) { buf_.reserve(size_t(capacity)); }

  void u32(uint32_t v) {
    // push_back, not insert of a 4-byte array: g++ 12 -O2 reports a false
    // -Wstringop-overflow for the inlined insert after reserve().
    for (int k = 0; k < 4; ++k) buf_.push_back(uint8_t(v >> (8 * k)));
  }
  void u64(uint64_t v) {
    u32(uint32_t(v));
    u32(uint32_t(v >> 32));
  }
  void f32s(const std::vector<float>& v) {
    for (float f : v) u32(detail::float_bits(f));
  }
  void u32s(const std::vector<uint32_t>& v) {
    for (uint32_t w : v) u32(w);
  }
  void f16s(const std::vector<float>& v) {
    for (float f : v) {
      const uint16_t h = detail::float_to_half(f);
      buf_.push_back(uint8_t(h));
      buf_.push_back(uint8_t(h >> 8));
    }
    pad();
  }
  void str(const std::string& s) {
    u32(uint32_t(s.size()));
    buf_.insert(buf_.end(), s.begin(), s.end());
    pad();
  }
  void pad() {
    while (buf_.size() % 4 != 0) buf_.push_back(0);
  }
  std::vector<uint8_t>& data() { return buf_; }

 private:
  std::vector<uint8_t> buf_;
};

}  // namespace repvk::detail
