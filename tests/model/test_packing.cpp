// SPDX-License-Identifier: MIT
// Index packing, weight decoding, CRC-32, fp16 conversion and statistics.
#include <cmath>

#include "test_util.h"

namespace repvk::test {
namespace {

TEST(Packing, IndicesPerWord) {
  const uint32_t expected[9] = {0, 32, 16, 10, 8, 6, 5, 4, 4};
  for (uint32_t b = 1; b <= 8; ++b) EXPECT_EQ(indices_per_word(b), expected[b]) << b;
  EXPECT_THROW(indices_per_word(0), std::invalid_argument);
  EXPECT_THROW(indices_per_word(9), std::invalid_argument);
  EXPECT_EQ(words_per_row(0, 4), 0u);
  EXPECT_EQ(words_per_row(8, 4), 1u);
  EXPECT_EQ(words_per_row(9, 4), 2u);
  EXPECT_EQ(words_per_row(27, 3), 3u);
}

TEST(Packing, RoundTripEveryBitWidthAndEdgeRowLengths) {
  std::mt19937 g(3);
  for (uint32_t b = 1; b <= 8; ++b) {
    const uint64_t per = indices_per_word(b);
    for (uint64_t row : {uint64_t(1), per - 1, per, per + 1, uint64_t(27)}) {
      if (row == 0) continue;
      SCOPED_TRACE("bits " + std::to_string(b) + " row " + std::to_string(row));
      const uint64_t rows = 3;
      std::vector<uint32_t> idx(rows * row);
      for (auto& v : idx) v = g() & ((1u << b) - 1);
      const auto packed = pack_indices(idx, rows, row, b);
      ASSERT_EQ(packed.size(), rows * words_per_row(row, b));
      EXPECT_EQ(unpack_indices(packed, rows, row, b), idx);
      // Every bit outside the used slots stays zero (canonical padding).
      for (uint64_t r = 0; r < rows; ++r)
        for (uint64_t k = 0; k < words_per_row(row, b); ++k) {
          const uint64_t used = std::min(per, row - k * per);
          if (used * b < 32) {
            EXPECT_EQ(packed[r * words_per_row(row, b) + k] >> (used * b), 0u);
          }
        }
    }
  }
}

TEST(Packing, HandComputedLayout) {
  // 4 bits: LSB first.
  EXPECT_EQ(pack_indices({1, 2, 3}, 1, 3, 4), std::vector<uint32_t>{0x321u});
  // 3 bits: 10 per word, 11th index starts word 1; row 2 starts on a fresh word.
  std::vector<uint32_t> idx(22, 0);
  idx[0] = 7;
  idx[9] = 5;
  idx[10] = 1;
  idx[11] = 6;
  const auto p = pack_indices(idx, 2, 11, 3);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0], 7u | (5u << 27));
  EXPECT_EQ(p[1], 1u);
  EXPECT_EQ(p[2], 6u);
  EXPECT_EQ(p[3], 0u);
  // 8 bits and 1 bit.
  EXPECT_EQ(pack_indices({0xAB, 0xCD, 0x01, 0xFF, 0x02}, 1, 5, 8),
            (std::vector<uint32_t>{0xFF01CDABu, 0x02u}));
  std::vector<uint32_t> ones(33, 1);
  EXPECT_EQ(pack_indices(ones, 1, 33, 1), (std::vector<uint32_t>{0xFFFFFFFFu, 1u}));
}

TEST(Packing, RejectsBadInput) {
  EXPECT_THROW(pack_indices({4}, 1, 1, 2), std::invalid_argument);
  EXPECT_THROW(pack_indices({1, 2}, 1, 3, 2), std::invalid_argument);
  EXPECT_THROW(unpack_indices({1, 2}, 1, 3, 2), std::invalid_argument);
  EXPECT_THROW(pack_indices({}, 0, 0, 0), std::invalid_argument);
}

TEST(DecodeWeights, HandComputedPerChannelAndPerLayer) {
  Layer l;
  l.type = LayerType::FullyConnected;
  l.in_channels = 3;
  l.out_channels = 2;
  l.weights.encoding = WeightEncoding::Codebook;
  l.weights.bits = 2;
  l.weights.granularity = CodebookGranularity::PerOutputChannel;
  l.weights.codebook_size = 3;
  l.weights.codebooks = {0.5f, -1.0f, 2.0f, /* row 1 */ 10.0f, 20.0f, 30.0f};
  l.weights.packed = pack_indices({2, 0, 1, 1, 1, 0}, 2, 3, 2);
  EXPECT_EQ(decode_weights(l), (std::vector<float>{2.0f, 0.5f, -1.0f, 20.0f, 20.0f, 10.0f}));

  l.weights.granularity = CodebookGranularity::PerLayer;
  l.weights.codebooks.resize(3);
  EXPECT_EQ(decode_weights(l), (std::vector<float>{2.0f, 0.5f, -1.0f, -1.0f, -1.0f, 0.5f}));

  l.weights.packed = pack_indices({3, 0, 0, 0, 0, 0}, 2, 3, 2);
  EXPECT_THROW(decode_weights(l), std::invalid_argument);

  Layer f;
  f.type = LayerType::Conv3x3;
  f.in_channels = 1;
  f.out_channels = 1;
  f.weights.dense = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_EQ(decode_weights(f), f.weights.dense);
  EXPECT_EQ(f.row_length(), 9u);
}

TEST(Crc32, KnownVectorAndChaining) {
  const char* s = "123456789";
  const auto* p = reinterpret_cast<const uint8_t*>(s);
  EXPECT_EQ(crc32(p, 9), 0xCBF43926u);
  EXPECT_EQ(crc32(p + 4, 5, crc32(p, 4)), 0xCBF43926u);
  EXPECT_EQ(crc32(nullptr, 0), 0u);
}

TEST(Half, ConversionEdgeCases) {
  using detail::float_to_half;
  using detail::half_to_float;
  EXPECT_EQ(float_to_half(1.0f), 0x3C00u);
  EXPECT_EQ(float_to_half(-2.0f), 0xC000u);
  EXPECT_EQ(float_to_half(65504.0f), 0x7BFFu);
  EXPECT_EQ(float_to_half(65520.0f), 0x7C00u);  // rounds up to infinity
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -24)), 0x0001u);
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000u);  // tie to even
  EXPECT_EQ(float_to_half(std::ldexp(3.0f, -26)), 0x0001u);
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3C00u);  // tie to even
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(3.0f, -11)), 0x3C02u);
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = half_to_float(uint16_t(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_half(f), h) << std::hex << h;
  }
}

TEST(Stats, FlopsAndBytes) {
  TinyOptions o;
  o.bits = 4;
  const Model m = tiny_model(o);
  const auto s = model_stats(m);
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0].flops, 2u * 3 * 5 * 4 * 2 * 9);  // out * oh * ow * in * 9
  EXPECT_EQ(s[1].flops, 2u * 4 * 3 * 2 * 3 * 9);  // stride 2: 5x4 -> 3x2
  EXPECT_EQ(s[2].flops, 0u);
  EXPECT_EQ(s[3].flops, 2u * 4 * 3);
  // Conv 0: 3 rows of 18 indices at 8 per word = 3 words each; 15 fp32 codebook values.
  EXPECT_EQ(s[0].weight_bytes, 3u * 3 * 4 + 15 * 4 + 3 * 4);
  EXPECT_EQ(s[0].fp32_bytes, (3u * 18 + 3) * 4);
  const auto shapes = validate_model(m, "m");
  EXPECT_EQ(shapes[1].c, 4u);
  EXPECT_EQ(shapes[1].h, 3u);
  EXPECT_EQ(shapes[1].w, 2u);
  EXPECT_EQ(shapes[4].elements(), 3u);
}

}  // namespace
}  // namespace repvk::test
