// SPDX-License-Identifier: MIT
// IEEE binary16 conversion for fp16 codebook storage.
#include <cmath>

#include "internal.h"

namespace repvk::detail {
namespace {

// Rounds value >> shift to nearest, ties to even.
uint32_t shift_round_even(uint32_t value, uint32_t shift) {
  uint32_t r = value >> shift;
  uint32_t rem = value & ((1u << shift) - 1);
  uint32_t halfway = 1u << (shift - 1);
  if (rem > halfway || (rem == halfway && (r & 1))) ++r;
  return r;
}

}  // namespace

uint16_t float_to_half(float f) {
  uint32_t x = float_bits(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t exp = (x >> 23) & 0xFFu;
  uint32_t mant = x & 0x7FFFFFu;
  if (exp == 0xFF) return uint16_t(sign | 0x7C00u | (mant ? 0x200u | (mant >> 13) : 0));
  int e = int(exp) - 127 + 15;
  if (e >= 31) return uint16_t(sign | 0x7C00u);
  if (e <= 0) {
    // Below 2^-25 everything rounds to zero; float subnormals land here too.
    if (e < -10) return uint16_t(sign);
    uint32_t full = mant | 0x800000u;
    return uint16_t(sign | shift_round_even(full, uint32_t(14 - e)));
  }
  // A carry out of the mantissa correctly bumps the exponent (and reaches inf at the top).
  uint32_t r = (uint32_t(e) << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1))) ++r;
  return uint16_t(sign | r);
}

float half_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  if (exp == 0) {
    float v = std::ldexp(float(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 31) return bits_float(sign | 0x7F800000u | (mant << 13));
  return bits_float(sign | ((exp + 112) << 23) | (mant << 13));
}

}  // namespace repvk::detail

namespace repvk {

// Public names for the same conversions (declared in repvk/model.h), so the engine's
// fp16 activations round exactly as fp16 codebooks do.
uint16_t float_to_half(float f) { return detail::float_to_half(f); }
float half_to_float(uint16_t h) { return detail::half_to_float(h); }

}  // namespace repvk
