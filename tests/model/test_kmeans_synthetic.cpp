// SPDX-License-Identifier: MIT
// k-means quantization and the synthetic model presets.
#include <chrono>
#include <cmath>

#include "repvk/synthetic.h"
#include "test_util.h"

namespace repvk::test {
namespace {

Layer fc_with(const std::vector<float>& w, uint32_t out) {
  Layer l;
  l.type = LayerType::FullyConnected;
  l.out_channels = out;
  l.in_channels = uint32_t(w.size() / out);
  l.weights.dense = w;
  l.bias.assign(out, 0.0f);
  return l;
}

// Symmetric offsets so each cluster's mean is exactly its centre.
std::vector<float> clusters(const std::vector<float>& centres) {
  std::vector<float> v;
  for (float c : centres)
    for (float d : {-0.5f, -0.25f, 0.0f, 0.25f, 0.5f}) v.push_back(c + d);
  return v;
}

TEST(KMeans, RecoversKnownCentroidsPerLayer) {
  const std::vector<float> data = clusters({-6, -2, 2, 6});
  for (uint64_t seed : {1, 2, 3, 4, 5}) {
    Layer l = fc_with(data, 2);
    quantize_layer_kmeans(l, 2, CodebookGranularity::PerLayer, seed);
    ASSERT_EQ(l.weights.encoding, WeightEncoding::Codebook);
    ASSERT_EQ(l.weights.codebook_size, 4u);
    EXPECT_EQ(l.weights.codebooks, (std::vector<float>{-6, -2, 2, 6})) << seed;
    EXPECT_TRUE(l.weights.dense.empty());
    const auto idx = unpack_indices(l.weights.packed, 2, 10, 2);
    for (size_t i = 0; i < data.size(); ++i) EXPECT_EQ(idx[i], i / 5) << i;
    const auto decoded = decode_weights(l);
    for (size_t i = 0; i < data.size(); ++i)
      EXPECT_LE(std::abs(decoded[i] - data[i]), 0.5f);
  }
}

TEST(KMeans, ThreeClustersAroundMinusFiveZeroFive) {
  std::vector<float> data = clusters({-5, 0, 5});
  Layer l = fc_with(data, 1);
  // 2 bits allow 4 centroids: one cluster gets split, but every point still decodes to
  // its nearest centroid, and -5, 0, 5 each stay within their cluster.
  quantize_layer_kmeans(l, 2, CodebookGranularity::PerLayer, 9);
  const auto& cb = l.weights.codebooks;
  ASSERT_EQ(cb.size(), 4u);
  EXPECT_TRUE(std::is_sorted(cb.begin(), cb.end()));
  const auto idx = unpack_indices(l.weights.packed, 1, data.size(), 2);
  for (size_t i = 0; i < data.size(); ++i) {
    float best = 1e9f;
    for (float c : cb) best = std::min(best, std::abs(c - data[i]));
    EXPECT_EQ(std::abs(cb[idx[i]] - data[i]), best) << i;
  }
  // With 8 distinct-value-rich bits the codebook is the distinct values themselves...
  Layer e = fc_with(data, 1);
  quantize_layer_kmeans(e, 4, CodebookGranularity::PerLayer, 9);
  EXPECT_EQ(e.weights.codebook_size, 15u);
  EXPECT_EQ(decode_weights(e), data);
  // ...and 1 bit on two clusters finds their centres.
  Layer two = fc_with(clusters({-5, 5}), 1);
  quantize_layer_kmeans(two, 1, CodebookGranularity::PerLayer, 1);
  EXPECT_EQ(two.weights.codebooks, (std::vector<float>{-5, 5}));
}

TEST(KMeans, QuantizingFp16StoredWeightsClearsDenseStorage) {
  Layer l = fc_with(clusters({-6, -2, 2, 6}), 2);
  l.weights.dense_storage = ValueStorage::Fp16;
  quantize_layer_kmeans(l, 2, CodebookGranularity::PerLayer, 1);
  EXPECT_EQ(l.weights.dense_storage, ValueStorage::Fp32);  // a codebook layer has none
  EXPECT_EQ(l.weights.codebook_storage, ValueStorage::Fp32);
}

TEST(KMeans, PerChannelCodebooksAndFewDistinctValues) {
  // Row 0 has two distinct values; row 1 has four clusters.
  std::vector<float> data(10, 1.0f);
  data.resize(20, 3.0f);
  const auto r1 = clusters({-10, 0, 10, 20});
  data.insert(data.end(), r1.begin(), r1.end());
  Layer l = fc_with(data, 2);
  quantize_layer_kmeans(l, 2, CodebookGranularity::PerOutputChannel, 5);
  ASSERT_EQ(l.weights.codebook_size, 4u);
  // Row 0's spare entries repeat its last centroid; no index refers to them.
  EXPECT_EQ(l.weights.codebooks, (std::vector<float>{1, 3, 3, 3, -10, 0, 10, 20}));
  const auto decoded = decode_weights(l);
  for (size_t i = 0; i < 20; ++i) EXPECT_EQ(decoded[i], data[i]);
  const auto idx = unpack_indices(l.weights.packed, 2, 20, 2);
  for (size_t i = 0; i < 20; ++i) EXPECT_EQ(idx[20 + i], i / 5);
}

TEST(KMeans, DeterministicForSeedAndRejectsBadInput) {
  std::mt19937 g(11);
  std::vector<float> w(4000);
  for (auto& v : w) v = float(g() % 100000) / 1000.0f;
  Layer a = fc_with(w, 4), b = fc_with(w, 4);
  quantize_layer_kmeans(a, 5, CodebookGranularity::PerLayer, 42);
  quantize_layer_kmeans(b, 5, CodebookGranularity::PerLayer, 42);
  EXPECT_EQ(a.weights.codebooks, b.weights.codebooks);
  EXPECT_EQ(a.weights.packed, b.weights.packed);
  EXPECT_EQ(a.weights.codebook_size, 32u);
  EXPECT_THROW(quantize_layer_kmeans(a, 4, CodebookGranularity::PerLayer, 1),
               std::invalid_argument);  // already quantized
  Layer c = fc_with(w, 4);
  EXPECT_THROW(quantize_layer_kmeans(c, 9, CodebookGranularity::PerLayer, 1),
               std::invalid_argument);
}

TEST(Synthetic, SmallPresetShapeNamesAndValidity) {
  const SyntheticConfig cfg = synthetic_preset("small");
  const Model m = make_synthetic_model(cfg);
  EXPECT_EQ(m.num_classes(), 10u);
  EXPECT_EQ(m.class_names[0], "T-shirt/top");
  EXPECT_EQ(m.class_names[9], "Ankle boot");
  EXPECT_EQ(m.input.channels, 1u);
  EXPECT_FLOAT_EQ(m.input.mean[0], 0.2860f);
  EXPECT_FLOAT_EQ(m.input.std[0], 0.3530f);
  ASSERT_EQ(m.layers.size(), 8u + 3u);
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(m.layers[i].type, LayerType::Conv3x3);
    EXPECT_TRUE(m.layers[i].relu);
    EXPECT_EQ(m.layers[i].weights.encoding, WeightEncoding::Codebook);
    EXPECT_EQ(m.layers[i].weights.bits, 4u);
    EXPECT_EQ(m.layers[i].weights.granularity, CodebookGranularity::PerOutputChannel);
  }
  EXPECT_EQ(m.layers[8].type, LayerType::GlobalAvgPool);
  EXPECT_EQ(m.layers[9].type, LayerType::FullyConnected);
  EXPECT_FALSE(m.layers[9].relu);
  EXPECT_EQ(m.layers[10].type, LayerType::Softmax);
  const auto shapes = validate_model(m, "small");
  EXPECT_EQ(shapes[7].c, 256u);
  EXPECT_EQ(shapes[7].h, 4u);  // 28 -> 28 -> 14 -> 7 -> 4 -> 4
  const auto bytes = serialize_model(m);
  expect_models_equal(parse_model(bytes.data(), bytes.size(), "small"), m);
}

TEST(Synthetic, DeterministicForSeed) {
  SyntheticConfig cfg = synthetic_preset("small");
  const auto a = serialize_model(make_synthetic_model(cfg));
  const auto b = serialize_model(make_synthetic_model(cfg));
  EXPECT_EQ(a, b);
  cfg.seed = 2;
  EXPECT_NE(serialize_model(make_synthetic_model(cfg)), a);
  cfg.quantized = false;
  const Model f = make_synthetic_model(cfg);
  EXPECT_EQ(f.layers[0].weights.encoding, WeightEncoding::Fp32);
  EXPECT_EQ(serialize_model(f), serialize_model(make_synthetic_model(cfg)));
}

TEST(Synthetic, WeightsAreHeScaled) {
  SyntheticConfig cfg = synthetic_preset("small");
  cfg.quantized = false;
  const Model m = make_synthetic_model(cfg);
  const Layer& l = m.layers[4];  // 64 -> 64 conv: fan_in 576
  double sum = 0, sq = 0;
  for (float w : l.weights.dense) {
    sum += w;
    sq += double(w) * w;
  }
  const double n = double(l.weights.dense.size());
  const double var = sq / n - (sum / n) * (sum / n);
  EXPECT_NEAR(var * 576.0 / 2.0, 1.0, 0.05);
  for (float b : l.bias) EXPECT_LE(std::abs(b), 0.01f);
}

TEST(Synthetic, RepVggPresets) {
  EXPECT_EQ(synthetic_preset_names(), (std::vector<std::string>{"small", "A0", "A1", "B0"}));
  const auto a0 = synthetic_preset("A0");
  EXPECT_EQ(a0.stage_depths, (std::vector<uint32_t>{1, 2, 4, 14, 1}));
  EXPECT_EQ(a0.stage_widths, (std::vector<uint32_t>{48, 48, 96, 192, 1280}));
  EXPECT_EQ(a0.stage_strides, (std::vector<uint32_t>{2, 2, 2, 2, 2}));
  EXPECT_EQ(synthetic_preset("A1").stage_widths, (std::vector<uint32_t>{64, 64, 128, 256, 1280}));
  EXPECT_EQ(synthetic_preset("B0").stage_depths, (std::vector<uint32_t>{1, 4, 6, 16, 1}));
  EXPECT_THROW(synthetic_preset("Z9"), std::invalid_argument);

  const Model m = make_synthetic_model(a0);
  EXPECT_EQ(m.num_classes(), 1000u);
  EXPECT_EQ(m.class_names[999], "class_999");
  EXPECT_EQ(m.input.channels, 3u);
  const auto shapes = validate_model(m, "A0");
  EXPECT_EQ(shapes[21].c, 1280u);
  EXPECT_EQ(shapes[21].h, 7u);
  EXPECT_EQ(shapes.back().c, 1000u);
  const auto stats = model_stats(m);
  uint64_t flops = 0;
  for (const auto& s : stats) flops += s.flops;
  // RepVGG-A0 is about 1.4 GMACs at 224x224.
  EXPECT_GT(flops, 2.5e9);
  EXPECT_LT(flops, 3.0e9);
}

}  // namespace
}  // namespace repvk::test
