// SPDX-License-Identifier: MIT
// The reader's view of a model file: bounds-checked little-endian reads that fail with
// a ModelError naming the file, the layer being read and the byte offset.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "internal.h"

namespace repvk::detail {

inline std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size, const std::string& source)
      : data_(data), size_(size), source_(source) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  void set_layer(int index, LayerType type, bool known) {
    layer_ = index;
    type_ = type;
    type_known_ = known;
  }

  [[noreturn]] void fail(const std::string& msg) const {
    if (layer_ >= 0 && type_known_) throw ModelError(source_, layer_, type_, msg);
    throw ModelError(source_, layer_, msg);
  }

  // Throws unless `bytes` more bytes are available for `what`.
  void need(uint64_t bytes, const std::string& what) const {
    if (bytes > remaining())
      fail("truncated: " + what + " needs " + std::to_string(bytes) + " bytes at offset " +
           std::to_string(pos_) + " but only " + std::to_string(remaining()) + " remain");
  }

  uint32_t u32(const std::string& what) {
    need(4, what);
    const uint8_t* p = data_ + pos_;
    pos_ += 4;
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
  }

  uint64_t u64(const std::string& what) {
    need(8, what);
    uint64_t lo = u32(what);
    uint64_t hi = u32(what);
    return lo | hi << 32;
  }

  // `count` little-endian f32 values (the caller has bounded count by the input size).
  std::vector<float> f32_array(uint64_t count, const std::string& what) {
    uint64_t bytes = 0;
    if (!detail::mul_u64(count, 4, bytes)) fail(what + ": size overflows");
    need(bytes, what);
    std::vector<float> v(static_cast<size_t>(count));
    for (auto& f : v) f = detail::bits_float(u32(what));
    return v;
  }

  std::vector<uint32_t> u32_array(uint64_t count, const std::string& what) {
    uint64_t bytes = 0;
    if (!detail::mul_u64(count, 4, bytes)) fail(what + ": size overflows");
    need(bytes, what);
    std::vector<uint32_t> v(static_cast<size_t>(count));
    for (auto& w : v) w = u32(what);
    return v;
  }

  std::vector<float> f16_array(uint64_t count, const std::string& what) {
    const uint64_t bytes = detail::pad4(count * 2);  // count is bounded by the caller
    need(bytes, what);
    std::vector<float> v(static_cast<size_t>(count));
    for (auto& f : v) {
      uint16_t h = uint16_t(data_[pos_] | data_[pos_ + 1] << 8);
      pos_ += 2;
      f = detail::half_to_float(h);
    }
    skip_padding(bytes - count * 2, what);
    return v;
  }

  // Zero-padded string of at most `limit` bytes.
  std::string string(uint32_t limit, const std::string& what) {
    const uint32_t len = u32(what + " length");
    if (len > limit)
      fail(what + " is " + std::to_string(len) + " bytes, above the limit of " +
           std::to_string(limit));
    need(detail::pad4(len), what);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    skip_padding(detail::pad4(len) - len, what);
    return s;
  }

 private:
  // Padding must be zero so that every model has exactly one encoding.
  void skip_padding(uint64_t n, const std::string& what) {
    for (uint64_t k = 0; k < n; ++k)
      if (data_[pos_ + k] != 0) fail("nonzero padding after " + what);
    pos_ += size_t(n);
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& source_;
  int layer_ = -1;
  LayerType type_ = LayerType::Conv3x3;
  bool type_known_ = false;
};

}  // namespace repvk::detail
