// SPDX-License-Identifier: MIT
// Per-element error bounds for conv3x3 with fp16 activation storage and with fp16
// arithmetic, derived from how the kernels compute, and the check that applies the
// first (test_ops_conv3x3*.cpp, test_shader_variants_run.cpp).
//
// fp16 storage, fp32 arithmetic (every kernel's _f16 variant without MATH_FP16):
// the input is half and the reference starts from the same half values, and the weights
// are fp32 (codebook entries or dense), so the products are of exact operands. The kernel
// sums the 9*Cin products and the bias in fp32, in its own order (split-K: per slice,
// then the slices' fp32 partials), so by the standard bound for any summation order
//   |y - exact| <= g_n (S + |bias|),  g_n = n u32 / (1 - n u32),  u32 = 2^-24,
// with S = sum |a||w| over the output's terms and n the additions on the longest path:
// at most 9*Cin products, the slices and the bias. The store rounds y to the nearest half:
// |out - y| <= u16 |y| (u16 = 2^-11) in fp16's normal range, plus 2^-25 (half the
// subnormal spacing) below it. The CPU reference sums in double and rounds once to fp32
// (u32 |ref|). ReLU never increases an error. So, per element:
//   |out - ref| <= e + u16 (|ref| + e) + 2^-25 + 2 u32 |ref|,  e = g_n (S + |bias|).
// Vulkan lets a conversion return either neighbour of a value; the engine's own
// float_to_half rounds to nearest, as every driver repvk has run on does, so a store that
// truncates (up to 2 u16 |y|) fails here, as does fp16 anywhere in the arithmetic.
//
// fp16 storage can also be missed the other way: a kernel that kept fp32 would err far
// below the store's rounding. check_fp16_store() measures the largest error in units of
// u16 |ref| over the outputs in fp16's normal range where the bound is dominated by the
// store; rounding to nearest puts it near 1 (each element's error is uniform in [0, 1)
// of that unit, up to the position of |ref| in its binade).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "repvk/cpu_reference.h"

namespace repvk::test {

inline constexpr double kU16 = 0.00048828125;          // 2^-11
inline constexpr double kU32 = 5.9604644775390625e-8;  // 2^-24

// S = sum |a||w| per output: the same conv on absolute values, no bias, no ReLU.
inline std::vector<float> conv_sum_abs(const std::vector<float>& input, uint32_t n, uint32_t cin,
                                       uint32_t h, uint32_t w, const std::vector<float>& dense,
                                       uint32_t cout, uint32_t stride) {
  std::vector<float> abs_in(input.size()), abs_w(dense.size()), zero(cout, 0.0f);
  for (size_t i = 0; i < input.size(); ++i) abs_in[i] = std::fabs(input[i]);
  for (size_t i = 0; i < dense.size(); ++i) abs_w[i] = std::fabs(dense[i]);
  const uint32_t oh = (h - 1) / stride + 1, ow = (w - 1) / stride + 1;
  std::vector<float> s(size_t(n) * cout * oh * ow);
  cpu::conv3x3(abs_in.data(), n, cin, h, w, abs_w.data(), zero.data(), cout, stride, false,
               s.data());
  return s;
}

// The bound above for one output; `additions` = 9*Cin + split-K slices + 1 (bias).
inline double fp16_storage_bound(double sum_abs, double bias, double ref, uint64_t additions) {
  const double n = double(additions);
  const double gamma = n * kU32 / (1 - n * kU32);
  const double e = gamma * (sum_abs + std::fabs(bias));
  return e + kU16 * (std::fabs(ref) + e) + std::ldexp(1.0, -25) + 2 * kU32 * std::fabs(ref);
}

struct Fp16StoreCheck {
  size_t bad = 0;           // elements over their bound (NaN counts)
  size_t worst = 0;         // index of the largest error / bound
  double worst_ratio = 0;   // that ratio (<= 1 passes)
  double store_units = 0;   // largest |out - ref| / (u16 |ref|) where the store dominates
  size_t store_samples = 0; // elements that measure entered
};

// Applies fp16_storage_bound() to every output of a conv with `cout` channels and
// `plane` outputs per channel and image.
inline Fp16StoreCheck check_fp16_store(const std::vector<float>& gpu, const std::vector<float>& ref,
                                       const std::vector<float>& sum_abs,
                                       const std::vector<float>& bias, size_t plane,
                                       uint64_t additions) {
  Fp16StoreCheck c;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double b = bias[(i / plane) % bias.size()];
    const double bound = fp16_storage_bound(sum_abs[i], b, ref[i], additions);
    const double err = std::fabs(double(gpu[i]) - double(ref[i]));
    const double ratio = std::isnan(err) ? INFINITY : err / bound;
    if (!(ratio <= 1.0)) ++c.bad;
    if (ratio > c.worst_ratio || i == 0) {
      c.worst_ratio = ratio;
      c.worst = i;
    }
    // The summation part of the bound under a tenth of the store's: what is measured
    // is the store's rounding.
    const double n = double(additions);
    const double sum_part = n * kU32 / (1 - n * kU32) * (sum_abs[i] + std::fabs(b));
    if (std::fabs(ref[i]) >= std::ldexp(1.0, -14) && sum_part < 0.1 * kU16 * std::fabs(ref[i])) {
      c.store_units = std::max(c.store_units, err / (kU16 * std::fabs(ref[i])));
      ++c.store_samples;
    }
  }
  return c;
}

// With this many samples a rounding store has put one error above 0.25 units but with
// probability under 2^-64 (each is below it with probability at most 1/2).
inline constexpr size_t kStoreSamplesForLowerCheck = 64;
inline constexpr double kStoreUnitsFloor = 0.25;

// fp16 arithmetic (the MATH_FP16 variants of conv3x3_igemm), per output element.
// u = 2^-11 is fp16's unit roundoff. One K stage (input channel) rounds each activation and weight to fp16 (relative error u each,
// none for activations already stored as fp16), then sums 9 products with 9 fp16
// roundings (fused or not: the first product is added to 0), so by the standard
// recursive-summation bound its error is at most
//   ((1 + u)^2 (1 + g9) - 1) * S_stage,  g9 = 9u / (1 - 9u),  S_stage = sum |a||w|,
// about 11u * S_stage. fp16's subnormals (spacing 2^-24) add at most 2^-25 per rounding
// in absolute terms: 9 sums and 9 + 9 operand roundings, the latter scaled by the
// other operand, so 2^-25 * (9 + 9 max|w| + 9 max|a|) per stage. Stages then add into
// fp32 accumulators (relative error (Cin + 1) * 2^-24 of S plus |bias|), and the store
// rounds once more (2^-11 of |out| for fp16 storage, 2^-24 for fp32). ReLU does not
// increase an error. Summed over the stages, with S = sum over every stage:
inline double fp16_math_bound(double s, uint32_t cin, double max_a, double max_w,
                              double bias, double out, bool fp16_storage) {
  const double u = std::ldexp(1.0, -11), u32 = std::ldexp(1.0, -24);
  const double ua = fp16_storage ? 0.0 : u;
  const double g9 = 9 * u / (1 - 9 * u);
  const double stage_rel = (1 + ua) * (1 + u) * (1 + g9) - 1;
  const double subnormal = cin * std::ldexp(1.0, -25) * 9 * (1 + max_w + max_a);
  const double fp32_sums = (cin + 1) * u32 * (s * (1 + stage_rel) + std::fabs(bias));
  const double store = (fp16_storage ? u : u32) * std::fabs(out);
  return stage_rel * s + subnormal + fp32_sums + store;
}

// One conv's fp16-storage output against the reference: every element within its bound,
// and (with enough samples) errors of the store's size, not of fp32.
struct ConvDims {
  uint32_t n, cin, h, w, cout, stride;
};
inline void expect_fp16_store(const ConvDims& d, const std::vector<float>& input,
                              const std::vector<float>& dense, const std::vector<float>& bias,
                              const std::vector<float>& gpu, const std::vector<float>& ref,
                              uint32_t slices, const std::string& what) {
  const std::vector<float> s = conv_sum_abs(input, d.n, d.cin, d.h, d.w, dense, d.cout, d.stride);
  const size_t plane = size_t((d.h - 1) / d.stride + 1) * ((d.w - 1) / d.stride + 1);
  const Fp16StoreCheck c =
      check_fp16_store(gpu, ref, s, bias, plane, uint64_t(9) * d.cin + slices + 1);
  EXPECT_EQ(c.bad, 0u) << what << "; worst error " << c.worst_ratio << " x its bound at "
                       << c.worst << " (gpu " << gpu[c.worst] << ", ref " << ref[c.worst]
                       << ", sum|a||w| " << s[c.worst] << ")";
  if (c.store_samples >= kStoreSamplesForLowerCheck) {
    EXPECT_GT(c.store_units, kStoreUnitsFloor)
        << what << ": errors far below fp16 rounding over " << c.store_samples
        << " outputs (largest " << c.store_units << " x 2^-11 |ref|): did fp32 storage run?";
  }
}

}  // namespace repvk::test
