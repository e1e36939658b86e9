// SPDX-License-Identifier: MIT
// Host side of conv3x3_igemm's 128-bit index chunks (ops/igemm_index_chunks.h): the
// geometry per index width, and packing checked two ways for every width and for input
// channel counts around the chunk size: against an independent bit-stream reader of the
// documented layout, and through the CPU decoder that mirrors the shader's tile fill.
#include <gtest/gtest.h>

#include <random>

#include "ops/conv3x3_igemm.h"
#include "ops/igemm_index_chunks.h"
#include "repvk/error.h"
#include "test_ops_util.h"

namespace repvk {
namespace {

// Channels per chunk and uvec4s per chunk for bits 1..8, as the shader header documents.
TEST(IgemmIndexChunks, GeometryPerWidth) {
  const uint32_t channels[] = {14, 7, 4, 3, 2, 2, 2, 3};
  const uint32_t vec4s[] = {1, 1, 1, 1, 1, 1, 1, 2};
  for (uint32_t bits = 1; bits <= 8; ++bits) {
    const IgemmIndexChunks c = igemm_index_chunks(bits);
    EXPECT_EQ(c.channels, channels[bits - 1]) << "bits " << bits;
    EXPECT_EQ(c.vec4s, vec4s[bits - 1]) << "bits " << bits;
    // The chunk holds its channels, and one more would not fit.
    EXPECT_LE(c.channels * 9 * bits, 128 * c.vec4s) << "bits " << bits;
    EXPECT_GT((c.channels + 1) * 9 * bits, 128 * c.vec4s) << "bits " << bits;
    // Never more padding than the 32/BITS-per-word groups it replaced.
    const uint32_t per_word = 32 / bits;
    const double group_bits = 32.0 * ((9 + per_word - 1) / per_word) / 9.0;
    EXPECT_LE(c.bits_per_weight(), group_bits + 1e-9) << "bits " << bits;
    EXPECT_EQ(igemm_group_words(bits), c.words());
  }
  EXPECT_THROW(igemm_index_chunks(0), Error);
  EXPECT_THROW(igemm_index_chunks(9), Error);
}

// Bit p of the (chunk, oc) stream, read straight from the documented layout: uvec4
// (chunk * U + p / 128) * cout + oc, word (p / 32) % 4, bit p % 32.
uint32_t stream_bit(const std::vector<uint32_t>& words, const IgemmIndexChunks& c, uint32_t cout,
                    uint32_t chunk, uint32_t oc, uint32_t p) {
  const size_t vec4 = (size_t(chunk) * c.vec4s + p / 128) * cout + oc;
  return (words.at(vec4 * 4 + (p / 32) % 4) >> (p % 32)) & 1u;
}

TEST(IgemmIndexChunks, PackThenDecodeGivesTheIndices) {
  std::mt19937_64 rng(test::test_seed());
  for (uint32_t bits = 1; bits <= 8; ++bits) {
    const IgemmIndexChunks c = igemm_index_chunks(bits);
    const uint32_t r = c.channels;
    for (uint32_t cin : {1u, 3u, r - 1 ? r - 1 : 1u, r, r + 1, 2 * r + 1, 3 * r + 2, 37u}) {
      const uint32_t cout = 1 + uint32_t(rng() % 9);
      std::vector<uint32_t> idx(size_t(cout) * cin * 9);
      for (auto& v : idx) v = uint32_t(rng()) & ((1u << bits) - 1);
      const std::vector<uint32_t> words = igemm_pack_index_chunks(idx, cin, cout, bits);
      const std::string what = "bits " + std::to_string(bits) + " cin " + std::to_string(cin) +
                               " cout " + std::to_string(cout) + "; " + test::seed_note();
      ASSERT_EQ(words.size(), size_t(c.chunk_count(cin)) * c.vec4s * cout * 4) << what;
      for (uint32_t oc = 0; oc < cout; ++oc)
        for (uint32_t ic = 0; ic < cin; ++ic)
          for (uint32_t t = 0; t < 9; ++t) {
            uint32_t v = 0;
            // The documented positions: the plain stream, or at 8 bits taps 0-7 of
            // stage s in words 2s and 2s+1 and tap 8 in byte s of word 6.
            const uint32_t s = ic % r;
            const uint32_t p = bits != 8 ? (s * 9 + t) * bits : t < 8 ? 64 * s + 8 * t : 192 + 8 * s;
            for (uint32_t b = 0; b < bits; ++b) v |= stream_bit(words, c, cout, ic / r, oc, p + b) << b;
            ASSERT_EQ(v, idx[(size_t(oc) * cin + ic) * 9 + t]) << what << " oc " << oc << " ic " << ic;
          }
      // Exactly the index bits are set: the padding (the last chunk's missing channels,
      // word 7 at 8 bits) is zero bits. Counted per stream: set bits of the indices
      // against set bits of the chunks.
      for (uint32_t oc = 0; oc < cout; ++oc) {
        size_t index_ones = 0, stream_ones = 0;
        for (uint32_t k = 0; k < cin * 9; ++k)
          index_ones += size_t(__builtin_popcount(idx[size_t(oc) * cin * 9 + k]));
        for (uint32_t ch = 0; ch < c.chunk_count(cin); ++ch)
          for (uint32_t p = 0; p < 128 * c.vec4s; ++p) stream_ones += stream_bit(words, c, cout, ch, oc, p);
        ASSERT_EQ(stream_ones, index_ones) << what << " oc " << oc;
      }
      EXPECT_EQ(igemm_decode_index_chunks(words, cin, cout, bits), idx) << what;
    }
  }
}

TEST(IgemmIndexChunks, RejectsBadInput) {
  EXPECT_THROW(igemm_pack_index_chunks(std::vector<uint32_t>(17), 2, 1, 4), Error);  // 18 expected
  EXPECT_THROW(igemm_pack_index_chunks(std::vector<uint32_t>(9, 16u), 1, 1, 4), Error);
  EXPECT_THROW(igemm_decode_index_chunks(std::vector<uint32_t>(3), 1, 1, 4), Error);
}

// igemm_repack_weights lays the model's packed rows out as these chunks.
TEST(IgemmIndexChunks, RepackedLayerHoldsTheRowIndices) {
  std::mt19937_64 rng(test::test_seed() + 1);
  for (uint32_t bits = 1; bits <= 8; ++bits) {
    const uint32_t cin = igemm_index_chunks(bits).channels + 2, cout = 6;
    const Layer l = test::random_layer(rng, LayerType::Conv3x3, cin, cout, 1, false, bits,
                                       CodebookGranularity::PerOutputChannel);
    const std::vector<uint32_t> words = igemm_repack_weights(l);
    EXPECT_EQ(igemm_decode_index_chunks(words, cin, cout, bits),
              unpack_indices(l.weights.packed, cout, uint64_t(cin) * 9, bits))
        << "bits " << bits;
  }
}

}  // namespace
}  // namespace repvk
