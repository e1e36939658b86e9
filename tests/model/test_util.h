// SPDX-License-Identifier: MIT
// Builders and byte-patching helpers shared by the model tests.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../../engine/model/internal.h"
#include "repvk/model.h"

namespace repvk::test {

struct TinyOptions {
  WeightEncoding encoding = WeightEncoding::Codebook;
  uint32_t bits = 2;
  CodebookGranularity granularity = CodebookGranularity::PerLayer;
  ValueStorage storage = ValueStorage::Fp32;
  ValueStorage dense_storage = ValueStorage::Fp32;  // for encoding Fp32
  uint64_t seed = 7;
};

// Values that fp16 represents exactly, so fp16 round trips compare equal.
inline float exact_value(std::mt19937& g) { return float(int(g() % 64) - 32) * 0.125f; }

inline Layer tiny_weighted(LayerType type, uint32_t in, uint32_t out, uint32_t stride,
                           bool relu, const TinyOptions& o, std::mt19937& g) {
  Layer l;
  l.type = type;
  l.in_channels = in;
  l.out_channels = out;
  l.stride = stride;
  l.relu = relu;
  const uint64_t row = l.row_length();
  if (o.encoding == WeightEncoding::Fp32) {
    for (uint64_t i = 0; i < row * out; ++i) l.weights.dense.push_back(exact_value(g));
    l.weights.dense_storage = o.dense_storage;
  } else {
    Weights& w = l.weights;
    w.encoding = WeightEncoding::Codebook;
    w.bits = o.bits;
    w.granularity = o.granularity;
    w.codebook_storage = o.storage;
    w.codebook_size = std::max(1u, (1u << o.bits) - 1);  // exercise size < 2^bits
    const uint64_t groups = o.granularity == CodebookGranularity::PerLayer ? 1 : out;
    for (uint64_t i = 0; i < groups * w.codebook_size; ++i) w.codebooks.push_back(exact_value(g));
    std::vector<uint32_t> idx(row * out);
    for (auto& v : idx) v = g() % w.codebook_size;
    w.packed = pack_indices(idx, out, row, o.bits);
  }
  for (uint32_t i = 0; i < out; ++i) l.bias.push_back(exact_value(g));
  return l;
}

inline Layer tiny_plain(LayerType type, uint32_t c) {
  Layer l;
  l.type = type;
  l.in_channels = l.out_channels = c;
  return l;
}

// 2x5x4 input -> conv(2->3) -> conv(3->4, stride 2) -> pool -> fc(4->3) -> softmax.
inline Model tiny_model(const TinyOptions& o = {}) {
  std::mt19937 g(uint32_t(o.seed));
  Model m;
  m.name = "tiny";
  m.input.channels = 2;
  m.input.height = 5;
  m.input.width = 4;
  m.input.mean = {0.5f, 0.25f};
  m.input.std = {0.5f, 2.0f};
  m.class_names = {"cat", "dog", "\xC3\xA9lan"};
  m.layers.push_back(tiny_weighted(LayerType::Conv3x3, 2, 3, 1, true, o, g));
  m.layers.push_back(tiny_weighted(LayerType::Conv3x3, 3, 4, 2, true, o, g));
  m.layers.push_back(tiny_plain(LayerType::GlobalAvgPool, 4));
  m.layers.push_back(tiny_weighted(LayerType::FullyConnected, 4, 3, 1, false, o, g));
  m.layers.push_back(tiny_plain(LayerType::Softmax, 3));
  return m;
}

inline uint32_t get_u32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t(b[at]) | uint32_t(b[at + 1]) << 8 | uint32_t(b[at + 2]) << 16 |
         uint32_t(b[at + 3]) << 24;
}
inline void set_u32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int k = 0; k < 4; ++k) b[at + size_t(k)] = uint8_t(v >> (8 * k));
}
inline void set_u64(std::vector<uint8_t>& b, size_t at, uint64_t v) {
  set_u32(b, at, uint32_t(v));
  set_u32(b, at + 4, uint32_t(v >> 32));
}

// Makes the header consistent again (file_size, checksum) after a patch, so the
// parser gets past the integrity checks to the one a test aims at.
inline void fix_header(std::vector<uint8_t>& b) {
  if (b.size() < detail::kHeaderBytes) return;
  set_u64(b, detail::kFileSizeOffset, b.size());
  set_u32(b, detail::kCrcOffset, 0);
  set_u32(b, detail::kCrcOffset, crc32(b.data(), b.size()));
}

// Byte offset of layer i's type field in the serialized model.
inline size_t layer_offset(const Model& m, size_t i) {
  Model prefix = m;
  prefix.layers.resize(i);
  return size_t(detail::serialized_size(prefix));
}

// Offset of the weight encoding field of weighted layer i.
inline size_t weights_offset(const Model& m, size_t i) {
  return layer_offset(m, i) + (m.layers[i].type == LayerType::Conv3x3 ? 20 : 16);
}

// Serializes a model without validation (to build files the writer would refuse).
inline std::vector<uint8_t> raw_bytes(const Model& m) { return detail::serialize_unchecked(m); }

inline Model parse(const std::vector<uint8_t>& b) {
  return parse_model(b.data(), b.size(), "model.rpvk");
}

// Asserts that parsing throws ModelError whose message contains every fragment.
#define EXPECT_MODEL_ERROR(stmt, ...)                                          \
  do {                                                                         \
    try {                                                                      \
      stmt;                                                                    \
      ADD_FAILURE() << "expected ModelError from: " #stmt;                     \
    } catch (const ::repvk::ModelError& e) {                                   \
      for (const std::string& frag : std::initializer_list<std::string>{__VA_ARGS__})                                   \
        EXPECT_NE(std::string(e.what()).find(frag), std::string::npos)         \
            << "message '" << e.what() << "' lacks '" << frag << "'";          \
    }                                                                          \
  } while (0)

inline void expect_models_equal(const Model& a, const Model& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.input.channels, b.input.channels);
  EXPECT_EQ(a.input.height, b.input.height);
  EXPECT_EQ(a.input.width, b.input.width);
  EXPECT_EQ(a.input.mean, b.input.mean);
  EXPECT_EQ(a.input.std, b.input.std);
  EXPECT_EQ(a.input.resize, b.input.resize);
  EXPECT_EQ(a.input.resize_shorter, b.input.resize_shorter);
  EXPECT_EQ(a.class_names, b.class_names);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) {
    SCOPED_TRACE("layer " + std::to_string(i));
    const Layer& x = a.layers[i];
    const Layer& y = b.layers[i];
    EXPECT_EQ(x.type, y.type);
    EXPECT_EQ(x.in_channels, y.in_channels);
    EXPECT_EQ(x.out_channels, y.out_channels);
    EXPECT_EQ(x.stride, y.stride);
    EXPECT_EQ(x.relu, y.relu);
    EXPECT_EQ(x.bias, y.bias);
    EXPECT_EQ(x.weights.encoding, y.weights.encoding);
    EXPECT_EQ(x.weights.dense, y.weights.dense);
    EXPECT_EQ(x.weights.dense_storage, y.weights.dense_storage);
    EXPECT_EQ(x.weights.bits, y.weights.bits);
    EXPECT_EQ(x.weights.granularity, y.weights.granularity);
    EXPECT_EQ(x.weights.codebook_storage, y.weights.codebook_storage);
    EXPECT_EQ(x.weights.codebook_size, y.weights.codebook_size);
    EXPECT_EQ(x.weights.codebooks, y.weights.codebooks);
    EXPECT_EQ(x.weights.packed, y.weights.packed);
  }
}

}  // namespace repvk::test
