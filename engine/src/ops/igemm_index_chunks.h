// SPDX-License-Identifier: MIT
// The index layout of conv3x3_igemm's binding 2 for BITS 1..8: per output channel, the
// indices of R consecutive input channels (R*9 indices, LSB-first, a contiguous bit stream
// that may straddle 32-bit words; at 8 bits a word-aligned variant, see bit_of) fill one
// chunk of U uvec4s, so that the tile fill reads a channel's indices with U 128-bit loads
// (U = 1, or 2 at 8 bits); the shader derives the same U and R from BITS
// (shaders/conv3x3_igemm.comp).
#pragma once

#include <cstdint>
#include <vector>

namespace repvk {

struct IgemmIndexChunks {
  uint32_t bits = 0;
  uint32_t vec4s = 1;     // U: uvec4s per (chunk, output channel)
  uint32_t channels = 1;  // R: input channels per chunk
  uint32_t words() const { return 4 * vec4s; }
  // Bits of the stream per input channel: the 9 taps.
  uint32_t stage_bits() const { return 9 * bits; }
  uint32_t chunk_count(uint32_t cin) const { return (cin + channels - 1) / channels; }
  // At 8 bits (two uvec4s, 3 channels) a stage's taps 0-7 fill words 2*stage and
  // 2*stage+1 and tap 8 is byte `stage` of word 6, so that the fill's window moves by
  // whole words (cheaper than shifting 7 words by 72 bits); elsewhere the plain stream.
  bool tail_word() const { return bits == 8; }
  // Bit of (stage within the chunk, tap) in the (chunk, output channel) stream.
  uint32_t bit_of(uint32_t stage, uint32_t tap) const {
    if (tail_word()) return tap < 8 ? stage * 64 + tap * 8 : 192 + stage * 8;
    return (stage * 9 + tap) * bits;
  }
  // Index bits stored per weight, the padding of a partial last chunk aside.
  double bits_per_weight() const { return 128.0 * vec4s / (9.0 * channels); }
};

// The chunk geometry for 1..8-bit indices (throws for other widths).
IgemmIndexChunks igemm_index_chunks(uint32_t bits);

// Packs indices[oc][ic * 9 + tap] (cout rows of cin * 9, all < 2^bits) into words laid out
// [chunk][u][cout][4]: the u-th uvec4 of (chunk, oc) is uvec4 number (chunk*U + u)*cout + oc,
// so neighbouring channels' loads are neighbouring 16-byte words. Input channels past cin
// in the last chunk are zero bits, never decoded.
std::vector<uint32_t> igemm_pack_index_chunks(const std::vector<uint32_t>& indices, uint32_t cin,
                                              uint32_t cout, uint32_t bits);

// The inverse, decoding the way the shader does (a window of U uvec4s per channel,
// shifted by 9*bits each stage, reloaded every R stages): returns indices[oc][ic*9 + tap].
std::vector<uint32_t> igemm_decode_index_chunks(const std::vector<uint32_t>& words, uint32_t cin,
                                                uint32_t cout, uint32_t bits);

}  // namespace repvk
