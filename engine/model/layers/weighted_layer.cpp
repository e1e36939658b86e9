// SPDX-License-Identifier: MIT
// Reading, writing, sizing and checking the weighted record (weighted_layer.h).
#include "layers/weighted_layer.h"

#include <algorithm>
#include <cmath>

namespace repvk::detail {
namespace {

void read_weights(Cursor& in, Layer& l) {
  Weights& w = l.weights;
  const uint64_t row = l.row_length();
  const uint64_t rows = l.out_channels;
  uint64_t n = 0;
  if (!mul_u64(rows, row, n) || n > ModelLimits::kMaxLayerWeights)
    in.fail("out * row_length = " + std::to_string(rows) + " * " + std::to_string(row) +
            " weights, above the per-layer limit of " +
            std::to_string(ModelLimits::kMaxLayerWeights));
  const uint32_t encoding = in.u32("weight encoding");
  if (encoding == kEncodingFp32) {
    w.encoding = WeightEncoding::Fp32;
    w.dense = in.f32_array(n, "fp32 weights");
    return;
  }
  if (encoding == kEncodingFp16Dense) {
    w.encoding = WeightEncoding::Fp32;
    w.dense_storage = ValueStorage::Fp16;
    w.dense = in.f16_array(n, "fp16 weights");  // n <= kMaxLayerWeights: 2n cannot overflow
    return;
  }
  if (encoding != kEncodingCodebook) in.fail("unknown weight encoding " + std::to_string(encoding));
  w.encoding = WeightEncoding::Codebook;
  w.bits = in.u32("bits");
  if (w.bits < 1 || w.bits > 8) in.fail("bits " + std::to_string(w.bits) + " outside 1..8");
  const uint32_t gran = in.u32("codebook granularity");
  if (gran > 1) in.fail("unknown codebook granularity " + std::to_string(gran));
  w.granularity = CodebookGranularity(gran);
  const uint32_t storage = in.u32("codebook storage");
  if (storage > 1) in.fail("unknown codebook storage " + std::to_string(storage));
  w.codebook_storage = ValueStorage(storage);
  w.codebook_size = in.u32("codebook_size");
  const uint32_t max_size = 1u << w.bits;
  if (w.codebook_size < 1 || w.codebook_size > max_size)
    in.fail("codebook_size " + std::to_string(w.codebook_size) + " outside 1.." +
            std::to_string(max_size) + " for " + std::to_string(w.bits) + " bits");
  // groups <= kMaxChannels and codebook_size <= 256, so this cannot overflow.
  const uint64_t values = codebook_groups(l) * uint64_t(w.codebook_size);
  w.codebooks = w.codebook_storage == ValueStorage::Fp16
                    ? in.f16_array(values, "fp16 codebooks")
                    : in.f32_array(values, "fp32 codebooks");
  const uint64_t expected = rows * words_per_row(row, w.bits);
  const uint64_t words = in.u64("packed word count");
  if (words != expected)
    in.fail("packed word count " + std::to_string(words) + ", expected " +
            std::to_string(expected) + " (" + std::to_string(rows) + " rows of " +
            std::to_string(words_per_row(row, w.bits)) + " words)");
  w.packed = in.u32_array(words, "packed indices");
}

void write_weights(Bytes& out, const Layer& l) {
  const Weights& w = l.weights;
  if (w.encoding == WeightEncoding::Fp32) {
    if (w.dense_storage == ValueStorage::Fp16) {
      out.u32(kEncodingFp16Dense);
      out.f16s(w.dense);
    } else {
      out.u32(kEncodingFp32);
      out.f32s(w.dense);
    }
  } else {
    out.u32(kEncodingCodebook);
    out.u32(w.bits);
    out.u32(uint32_t(w.granularity));
    out.u32(uint32_t(w.codebook_storage));
    out.u32(w.codebook_size);
    if (w.codebook_storage == ValueStorage::Fp16) out.f16s(w.codebooks);
    else out.f32s(w.codebooks);
    out.u64(w.packed.size());
    out.u32s(w.packed);
  }
}

void check_finite(const LayerCheck& c, const std::vector<float>& v, const char* what) {
  for (size_t k = 0; k < v.size(); ++k)
    if (!std::isfinite(v[k])) c.fail(std::string(what) + " " + std::to_string(k) + " is not finite");
}

// Values stored as fp16 must stay finite once rounded (|v| < 65520).
void check_fits_fp16(const LayerCheck& c, const std::vector<float>& v, const char* what) {
  for (size_t k = 0; k < v.size(); ++k)
    if (!std::isfinite(half_to_float(float_to_half(v[k]))))
      c.fail(std::string(what) + " " + std::to_string(k) + " (" + std::to_string(v[k]) +
             ") overflows fp16 storage");
}

void check_codebook_indices(const LayerCheck& c) {
  const Layer& l = c.layer;
  const Weights& w = l.weights;
  const uint64_t row = l.row_length();
  const uint32_t per = indices_per_word(w.bits);
  const uint64_t wpr = words_per_row(row, w.bits);
  const uint32_t mask = (1u << w.bits) - 1;
  for (uint64_t o = 0; o < l.out_channels; ++o) {
    const uint32_t* words = w.packed.data() + o * wpr;
    for (uint64_t k = 0; k < wpr; ++k) {
      const uint64_t used = std::min<uint64_t>(per, row - k * per);
      const uint32_t used_bits = uint32_t(used) * w.bits;
      const uint32_t word = words[k];
      if (used_bits < 32 && (word >> used_bits) != 0)
        c.fail("nonzero padding bits in word " + std::to_string(k) + " of output channel " +
               std::to_string(o));
      for (uint32_t s = 0; s < used; ++s) {
        const uint32_t idx = (word >> (s * w.bits)) & mask;
        if (idx >= w.codebook_size)
          c.fail("index " + std::to_string(idx) + " at output channel " + std::to_string(o) +
                 ", position " + std::to_string(k * per + s) + " is at or beyond codebook_size " +
                 std::to_string(w.codebook_size));
      }
    }
  }
}

void check_codebook(const LayerCheck& c) {
  const Layer& l = c.layer;
  const Weights& w = l.weights;
  if (!w.dense.empty()) c.fail("codebook weights must not carry dense weights");
  // The file has no field for it, so it would not survive a round trip.
  if (w.dense_storage != ValueStorage::Fp32)
    c.fail("codebook weights must leave dense_storage at fp32");
  if (w.bits < 1 || w.bits > 8) c.fail("bits " + std::to_string(w.bits) + " outside 1..8");
  if (w.granularity != CodebookGranularity::PerLayer &&
      w.granularity != CodebookGranularity::PerOutputChannel)
    c.fail("unknown codebook granularity " + std::to_string(uint32_t(w.granularity)));
  if (w.codebook_storage != ValueStorage::Fp32 && w.codebook_storage != ValueStorage::Fp16)
    c.fail("unknown codebook storage " + std::to_string(uint32_t(w.codebook_storage)));
  const uint32_t max_size = 1u << w.bits;
  if (w.codebook_size < 1 || w.codebook_size > max_size)
    c.fail("codebook_size " + std::to_string(w.codebook_size) + " outside 1.." +
           std::to_string(max_size) + " for " + std::to_string(w.bits) + " bits");
  const uint64_t values = codebook_groups(l) * w.codebook_size;
  if (w.codebooks.size() != values)
    c.fail(std::to_string(w.codebooks.size()) + " codebook values, expected " +
           std::to_string(values));
  check_finite(c, w.codebooks, "codebook value");
  if (w.codebook_storage == ValueStorage::Fp16) check_fits_fp16(c, w.codebooks, "codebook value");
  const uint64_t words = uint64_t(l.out_channels) * words_per_row(l.row_length(), w.bits);
  if (w.packed.size() != words)
    c.fail(std::to_string(w.packed.size()) + " packed words, expected " + std::to_string(words));
  check_codebook_indices(c);
}

}  // namespace

void read_weighted_record(Cursor& in, Layer& l, bool has_stride) {
  l.in_channels = in.u32("in_channels");
  l.out_channels = in.u32("out_channels");
  if (has_stride) l.stride = in.u32("stride");
  const uint32_t flags = in.u32("layer flags");
  if ((flags & ~kFlagRelu) != 0) in.fail("unknown layer flags " + hex32(flags & ~kFlagRelu));
  l.relu = (flags & kFlagRelu) != 0;
  // Bounded here (not only in validate_model) because they size allocations.
  const uint32_t lim = ModelLimits::kMaxChannels;
  if (l.in_channels < 1 || l.in_channels > lim)
    in.fail("in_channels " + std::to_string(l.in_channels) + " outside 1.." + std::to_string(lim));
  if (l.out_channels < 1 || l.out_channels > lim)
    in.fail("out_channels " + std::to_string(l.out_channels) + " outside 1.." +
            std::to_string(lim));
  read_weights(in, l);
  l.bias = in.f32_array(l.out_channels, "bias");
}

void write_weighted_record(Bytes& out, const Layer& l, bool has_stride) {
  out.u32(l.in_channels);
  out.u32(l.out_channels);
  if (has_stride) out.u32(l.stride);
  out.u32(l.relu ? kFlagRelu : 0);
  write_weights(out, l);
  out.f32s(l.bias);
}

uint64_t weighted_record_bytes(const Layer& l, bool has_stride) {
  // Channels, stride, flags; the encoding word, plus bits/granularity/storage/size and
  // the u64 word count for codebooks; then the arrays.
  const uint64_t fields = (has_stride ? 16 : 12) + 4 +
                          (l.weights.encoding == WeightEncoding::Codebook ? 24 : 0);
  return fields + stored_weight_bytes(l);
}

uint64_t stored_weight_bytes(const Layer& l) {
  const Weights& w = l.weights;
  uint64_t bytes = 4 * uint64_t(l.out_channels);  // bias
  if (w.encoding == WeightEncoding::Fp32)
    return bytes + (w.dense_storage == ValueStorage::Fp16 ? pad4(2 * uint64_t(w.dense.size()))
                                                          : 4 * uint64_t(w.dense.size()));
  const uint64_t per_value = w.codebook_storage == ValueStorage::Fp16 ? 2 : 4;
  return bytes + pad4(per_value * w.codebooks.size()) + 4 * uint64_t(w.packed.size());
}

void check_weighted_channels(const LayerCheck& c, const char* what) {
  const Layer& l = c.layer;
  const uint32_t lim = ModelLimits::kMaxChannels;
  if (l.in_channels < 1 || l.in_channels > lim)
    c.fail("in_channels " + std::to_string(l.in_channels) + " outside 1.." + std::to_string(lim));
  if (l.out_channels < 1 || l.out_channels > lim)
    c.fail("out_channels " + std::to_string(l.out_channels) + " outside 1.." + std::to_string(lim));
  if (l.in_channels != c.input.c)
    c.fail("in_channels " + std::to_string(l.in_channels) + " does not match the " +
           std::to_string(c.input.c) + " " + what + " produced by " + c.producer);
}

void check_weighted_payload(const LayerCheck& c) {
  const Layer& l = c.layer;
  const Weights& w = l.weights;
  const uint64_t n = uint64_t(l.out_channels) * l.row_length();  // channel limits keep this small
  if (n > ModelLimits::kMaxLayerWeights)
    c.fail(std::to_string(n) + " weights, above the per-layer limit of " +
           std::to_string(ModelLimits::kMaxLayerWeights));
  if (w.encoding == WeightEncoding::Fp32) {
    if (!w.codebooks.empty() || !w.packed.empty())
      c.fail("fp32 weights must not carry codebooks or packed indices");
    if (w.dense.size() != n)
      c.fail(std::to_string(w.dense.size()) + " dense weights, expected " + std::to_string(n));
    check_finite(c, w.dense, "weight");
    if (w.dense_storage != ValueStorage::Fp32 && w.dense_storage != ValueStorage::Fp16)
      c.fail("unknown dense weight storage " + std::to_string(uint32_t(w.dense_storage)));
    if (w.dense_storage == ValueStorage::Fp16) check_fits_fp16(c, w.dense, "weight");
  } else if (w.encoding == WeightEncoding::Codebook) {
    check_codebook(c);
  } else {
    c.fail("unknown weight encoding " + std::to_string(uint32_t(w.encoding)));
  }
  if (l.bias.size() != l.out_channels)
    c.fail(std::to_string(l.bias.size()) + " bias values, expected " +
           std::to_string(l.out_channels));
  check_finite(c, l.bias, "bias");
}

}  // namespace repvk::detail
