// SPDX-License-Identifier: MIT
// The 128-bit index chunks of conv3x3_igemm (igemm_index_chunks.h): geometry, packing and
// a CPU decoder that mirrors the shader's tile fill.
#include "ops/igemm_index_chunks.h"

#include <algorithm>
#include <string>

#include "repvk/error.h"

namespace repvk {

IgemmIndexChunks igemm_index_chunks(uint32_t bits) {
  if (bits < 1 || bits > 8)
    throw Error("conv3x3_igemm: no index chunks for " + std::to_string(bits) + "-bit indices");
  IgemmIndexChunks c;
  c.bits = bits;
  // Two uvec4s only where one holds a single channel (8 bits: 9.48 bits per weight
  // instead of 14.2). Elsewhere one: the fill loads its chunk every stage (see the
  // shader), so a second uvec4 would be a second load per stage.
  const uint32_t one = 128 / c.stage_bits(), two = 256 / c.stage_bits();
  c.vec4s = one < 2 ? 2 : 1;
  c.channels = c.vec4s == 2 ? two : one;
  return c;
}

std::vector<uint32_t> igemm_pack_index_chunks(const std::vector<uint32_t>& indices, uint32_t cin,
                                              uint32_t cout, uint32_t bits) {
  const IgemmIndexChunks c = igemm_index_chunks(bits);
  const uint64_t row = uint64_t(cin) * 9;
  if (indices.size() != row * cout)
    throw Error("conv3x3_igemm: " + std::to_string(indices.size()) + " indices, expected " +
                std::to_string(row * cout));
  const uint32_t chunks = c.chunk_count(cin);
  std::vector<uint32_t> out(size_t(chunks) * c.vec4s * cout * 4, 0u);
  for (uint32_t oc = 0; oc < cout; ++oc)
    for (uint32_t ic = 0; ic < cin; ++ic) {
      const uint32_t chunk = ic / c.channels, stage = ic % c.channels;
      for (uint32_t t = 0; t < 9; ++t) {
        const uint32_t v = indices[oc * row + ic * 9 + t];
        if (v >> bits)
          throw Error("conv3x3_igemm: index " + std::to_string(v) + " does not fit in " +
                      std::to_string(bits) + " bits");
        // Bit p of the (chunk, oc) stream, then its straddling tail in the next word.
        const uint32_t p = c.bit_of(stage, t);
        for (uint32_t part = 0; part < 2; ++part) {
          const uint32_t q = p / 32 + part;  // word of the stream, 4 per uvec4
          const uint32_t shift = p % 32;
          const uint32_t piece = part == 0 ? v << shift : (shift ? v >> (32 - shift) : 0u);
          if (q >= c.words() || (part == 1 && shift + bits <= 32)) continue;
          out[((size_t(chunk) * c.vec4s + q / 4) * cout + oc) * 4 + q % 4] |= piece;
        }
      }
    }
  return out;
}

std::vector<uint32_t> igemm_decode_index_chunks(const std::vector<uint32_t>& words, uint32_t cin,
                                                uint32_t cout, uint32_t bits) {
  const IgemmIndexChunks c = igemm_index_chunks(bits);
  const uint32_t chunks = c.chunk_count(cin);
  if (words.size() != size_t(chunks) * c.vec4s * cout * 4)
    throw Error("conv3x3_igemm: " + std::to_string(words.size()) + " index chunk words, expected " +
                std::to_string(size_t(chunks) * c.vec4s * cout * 4));
  const uint64_t row = uint64_t(cin) * 9;
  std::vector<uint32_t> out(row * cout);
  const uint32_t mask = (1u << bits) - 1;
  const uint32_t sq = c.stage_bits() / 32, sr = c.stage_bits() % 32;
  for (uint32_t oc = 0; oc < cout; ++oc) {
    uint32_t held[8] = {};
    auto load = [&](uint32_t chunk) {
      for (uint32_t q = 0; q < c.words(); ++q)
        held[q] = words[((size_t(chunk) * c.vec4s + q / 4) * cout + oc) * 4 + q % 4];
    };
    load(0);
    for (uint32_t ic = 0; ic < cin; ++ic) {
      // The stage's 9 indices sit where stage 0's do.
      for (uint32_t t = 0; t < 9; ++t) {
        const uint32_t p = c.bit_of(0, t), q = p / 32, r = p % 32;
        uint32_t v = held[q] >> r;
        if (r + bits > 32) v |= held[q + 1] << (32 - r);
        out[oc * row + ic * 9 + t] = v & mask;
      }
      if ((ic + 1) % c.channels == 0) {
        load(std::min(chunks - 1, (ic + 1) / c.channels));
      } else if (c.tail_word()) {
        for (uint32_t j = 0; j < c.words(); ++j)
          held[j] = j < 4 ? held[j + 2] : j == 6 ? held[6] >> 8 : 0u;
      } else {
        for (uint32_t j = 0; j < c.words(); ++j) {
          uint32_t v = j + sq < c.words() ? held[j + sq] >> sr : 0u;
          if (sr != 0 && j + sq + 1 < c.words()) v |= held[j + sq + 1] << (32 - sr);
          held[j] = v;
        }
      }
    }
  }
  return out;
}

}  // namespace repvk
