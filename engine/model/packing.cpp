// SPDX-License-Identifier: MIT
// Index packing (layout described in model.h) and weight decoding.
#include <stdexcept>

#include "internal.h"

namespace repvk {
namespace {

void check_bits(uint32_t bits, const char* fn) {
  if (bits < 1 || bits > 8)
    throw std::invalid_argument(std::string(fn) + ": bits " + std::to_string(bits) +
                                " outside 1..8");
}

uint64_t checked_count(uint64_t rows, uint64_t per_row, const char* fn) {
  uint64_t n = 0;
  if (!detail::mul_u64(rows, per_row, n) || n > SIZE_MAX / sizeof(uint32_t))
    throw std::invalid_argument(std::string(fn) + ": size overflows");
  return n;
}

}  // namespace

uint32_t indices_per_word(uint32_t bits) {
  check_bits(bits, "indices_per_word");
  return 32 / bits;
}

uint64_t words_per_row(uint64_t row_length, uint32_t bits) {
  uint64_t per = indices_per_word(bits);
  return row_length / per + (row_length % per != 0 ? 1 : 0);
}

std::vector<uint32_t> pack_indices(const std::vector<uint32_t>& indices, uint64_t rows,
                                   uint64_t row_length, uint32_t bits) {
  check_bits(bits, "pack_indices");
  if (checked_count(rows, row_length, "pack_indices") != indices.size())
    throw std::invalid_argument("pack_indices: expected rows * row_length indices, got " +
                                std::to_string(indices.size()));
  const uint32_t per = indices_per_word(bits);
  const uint64_t wpr = words_per_row(row_length, bits);
  std::vector<uint32_t> packed(checked_count(rows, wpr, "pack_indices"), 0u);
  const uint32_t limit = 1u << bits;
  for (uint64_t r = 0; r < rows; ++r) {
    const uint32_t* src = indices.data() + r * row_length;
    uint32_t* dst = packed.data() + r * wpr;
    for (uint64_t i = 0; i < row_length; ++i) {
      if (src[i] >= limit)
        throw std::invalid_argument("pack_indices: index " + std::to_string(src[i]) +
                                    " does not fit in " + std::to_string(bits) + " bits");
      dst[i / per] |= src[i] << ((i % per) * bits);
    }
  }
  return packed;
}

std::vector<uint32_t> unpack_indices(const std::vector<uint32_t>& packed, uint64_t rows,
                                     uint64_t row_length, uint32_t bits) {
  check_bits(bits, "unpack_indices");
  const uint32_t per = indices_per_word(bits);
  const uint64_t wpr = words_per_row(row_length, bits);
  if (checked_count(rows, wpr, "unpack_indices") != packed.size())
    throw std::invalid_argument("unpack_indices: expected rows * words_per_row words, got " +
                                std::to_string(packed.size()));
  std::vector<uint32_t> out(checked_count(rows, row_length, "unpack_indices"));
  const uint32_t mask = (1u << bits) - 1;
  for (uint64_t r = 0; r < rows; ++r) {
    const uint32_t* src = packed.data() + r * wpr;
    uint32_t* dst = out.data() + r * row_length;
    for (uint64_t i = 0; i < row_length; ++i)
      dst[i] = (src[i / per] >> ((i % per) * bits)) & mask;
  }
  return out;
}

std::vector<float> decode_weights(const Layer& layer) {
  if (!layer.has_weights()) return {};
  const Weights& w = layer.weights;
  const uint64_t rows = layer.out_channels;
  const uint64_t row_length = layer.row_length();
  const uint64_t n = checked_count(rows, row_length, "decode_weights");
  if (w.encoding == WeightEncoding::Fp32) {
    if (w.dense.size() != n)
      throw std::invalid_argument("decode_weights: dense weight count does not match shape");
    return w.dense;
  }
  if (w.encoding != WeightEncoding::Codebook)
    throw std::invalid_argument("decode_weights: unknown weight encoding");
  const uint64_t groups = detail::codebook_groups(layer);
  if (w.codebook_size == 0 ||
      checked_count(groups, w.codebook_size, "decode_weights") != w.codebooks.size())
    throw std::invalid_argument("decode_weights: codebook size does not match shape");
  std::vector<uint32_t> idx = unpack_indices(w.packed, rows, row_length, w.bits);
  std::vector<float> out(n);
  for (uint64_t r = 0; r < rows; ++r) {
    const float* book = w.codebooks.data() + (groups == 1 ? 0 : r) * w.codebook_size;
    for (uint64_t i = 0; i < row_length; ++i) {
      uint32_t k = idx[r * row_length + i];
      if (k >= w.codebook_size)
        throw std::invalid_argument("decode_weights: index " + std::to_string(k) +
                                    " beyond codebook size " +
                                    std::to_string(w.codebook_size));
      out[r * row_length + i] = book[k];
    }
  }
  return out;
}

}  // namespace repvk
