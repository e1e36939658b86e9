// SPDX-License-Identifier: MIT
// Pieces shared by the repvk_model sources but not part of the public API.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "repvk/model.h"

namespace repvk::detail {

// Fixed header: magic, version, crc32, flags (u32 each), then u64 file_size.
inline constexpr size_t kHeaderBytes = 24;
inline constexpr size_t kCrcOffset = 8;
inline constexpr size_t kFileSizeOffset = 16;
inline constexpr uint32_t kFlagRelu = 1u;
// Header flags: bit 0 = an input resize record (u32 mode, u32 shorter side) follows
// the input std. Files without it (every file before the record existed) stretch.
inline constexpr uint32_t kHeaderFlagInputResize = 1u;
inline bool has_resize_record(const InputSpec& in) { return in.resize != InputResize::Stretch; }

// Weight encoding words in the file. 0 and 1 are WeightEncoding's values; 2 is
// WeightEncoding::Fp32 with dense_storage Fp16 (no enum value of its own, so the
// engine never sees it).
inline constexpr uint32_t kEncodingFp32 = 0;
inline constexpr uint32_t kEncodingCodebook = 1;
inline constexpr uint32_t kEncodingFp16Dense = 2;

inline uint64_t pad4(uint64_t n) { return (n + 3) & ~uint64_t(3); }

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// IEEE 754 binary16 <-> binary32, round to nearest even (no dependency on F16C or
// _Float16, so g++ and clang builds agree bit for bit).
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);

// a * b, or false when the product does not fit in 64 bits.
inline bool mul_u64(uint64_t a, uint64_t b, uint64_t& out) {
  if (a != 0 && b > UINT64_MAX / a) return false;
  out = a * b;
  return true;
}

bool is_valid_utf8(const std::string& s);

// Number of codebooks a layer carries.
inline uint64_t codebook_groups(const Layer& layer) {
  return layer.weights.granularity == CodebookGranularity::PerOutputChannel
             ? layer.out_channels : 1;
}

// Bytes serialize_model will produce for a model that passed validate_model.
uint64_t serialized_size(const Model& model);
// Bytes one weighted layer's weight block and bias occupy in the file.
uint64_t stored_weight_bytes(const Layer& layer);

// Serializes without validating (callers validate first).
std::vector<uint8_t> serialize_unchecked(const Model& model);

}  // namespace repvk::detail
