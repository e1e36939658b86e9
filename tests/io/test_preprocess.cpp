// SPDX-License-Identifier: MIT
// preprocess() and top_k(): pure functions, no GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "repvk/error.h"
#include "repvk/network.h"

namespace {

repvk::InputSpec spec(uint32_t c, uint32_t h, uint32_t w, std::vector<float> mean,
                      std::vector<float> std) {
  repvk::InputSpec s;
  s.channels = c;
  s.height = h;
  s.width = w;
  s.mean = std::move(mean);
  s.std = std::move(std);
  return s;
}

repvk::Image image(uint32_t w, uint32_t h, uint32_t c, std::vector<uint8_t> px) {
  repvk::Image i;
  i.width = w;
  i.height = h;
  i.channels = c;
  i.pixels = std::move(px);
  return i;
}

TEST(Preprocess, FashionMnistSizeIsExact) {
  std::mt19937 rng(7);
  std::vector<uint8_t> px(28 * 28);
  for (auto& p : px) p = uint8_t(rng() & 0xFF);
  px[0] = 0;
  px[1] = 255;
  const float mean = 0.2860f, sd = 0.3530f;
  const auto out = repvk::preprocess(image(28, 28, 1, px), spec(1, 28, 28, {mean}, {sd}));
  ASSERT_EQ(out.size(), 28u * 28u);
  for (size_t i = 0; i < px.size(); ++i) {
    const float expected = (float(px[i]) / 255.0f - mean) / sd;
    ASSERT_EQ(out[i], expected) << "pixel " << i;  // bit-exact, not approximately
  }
}

TEST(Preprocess, UpscaleUsesHalfPixelCentres) {
  // 2x1 -> 4x2: columns sample source x = -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
  const auto out =
      repvk::preprocess(image(2, 1, 1, {0, 255}), spec(1, 2, 4, {0.0f}, {1.0f}));
  const std::vector<float> row = {0.0f, 0.25f, 0.75f, 1.0f};
  ASSERT_EQ(out.size(), 8u);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 4; ++x) EXPECT_NEAR(out[size_t(y * 4 + x)], row[size_t(x)], 1e-6f);
}

TEST(Preprocess, DownscaleByTwoAveragesPairs) {
  // 4x4 -> 2x2 samples at source 0.5 and 2.5: the mean of each 2x2 block.
  std::vector<uint8_t> px(16);
  for (int i = 0; i < 16; ++i) px[size_t(i)] = uint8_t(i * 10);
  const auto out = repvk::preprocess(image(4, 4, 1, px), spec(1, 2, 2, {0.0f}, {1.0f}));
  auto block = [&](int bx, int by) {
    float s = 0;
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 2; ++x) s += px[size_t((by * 2 + y) * 4 + bx * 2 + x)];
    return s / 4.0f / 255.0f;
  };
  EXPECT_NEAR(out[0], block(0, 0), 1e-6f);
  EXPECT_NEAR(out[1], block(1, 0), 1e-6f);
  EXPECT_NEAR(out[2], block(0, 1), 1e-6f);
  EXPECT_NEAR(out[3], block(1, 1), 1e-6f);
}

TEST(Preprocess, GrayIsReplicatedForRgbModels) {
  const auto out = repvk::preprocess(image(1, 1, 1, {51}),
                                     spec(3, 1, 1, {0.1f, 0.2f, 0.3f}, {0.5f, 1.0f, 2.0f}));
  ASSERT_EQ(out.size(), 3u);
  const float v = 51.0f / 255.0f;
  EXPECT_FLOAT_EQ(out[0], (v - 0.1f) / 0.5f);
  EXPECT_FLOAT_EQ(out[1], (v - 0.2f) / 1.0f);
  EXPECT_FLOAT_EQ(out[2], (v - 0.3f) / 2.0f);
}

TEST(Preprocess, RgbBecomesBt601Luma) {
  const auto red = repvk::preprocess(image(1, 1, 3, {255, 0, 0}), spec(1, 1, 1, {0.f}, {1.f}));
  const auto green = repvk::preprocess(image(1, 1, 3, {0, 255, 0}), spec(1, 1, 1, {0.f}, {1.f}));
  const auto blue = repvk::preprocess(image(1, 1, 4, {0, 0, 255, 7}), spec(1, 1, 1, {0.f}, {1.f}));
  EXPECT_NEAR(red[0], 0.299f, 1e-6f);
  EXPECT_NEAR(green[0], 0.587f, 1e-6f);
  EXPECT_NEAR(blue[0], 0.114f, 1e-6f);
}

TEST(Preprocess, AlphaIsDroppedForRgbModels) {
  const auto out = repvk::preprocess(image(1, 1, 4, {10, 20, 30, 40}),
                                     spec(3, 1, 1, {0.f, 0.f, 0.f}, {1.f, 1.f, 1.f}));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0], 10.0f / 255.0f);
  EXPECT_EQ(out[1], 20.0f / 255.0f);
  EXPECT_EQ(out[2], 30.0f / 255.0f);
}

TEST(Preprocess, ChannelPlanesAreChw) {
  // 2x1 RGB: plane c holds channel c of both pixels.
  const auto out = repvk::preprocess(image(2, 1, 3, {1, 2, 3, 4, 5, 6}),
                                     spec(3, 1, 2, {0.f, 0.f, 0.f}, {1.f, 1.f, 1.f}));
  const std::vector<float> expected = {1, 4, 2, 5, 3, 6};
  ASSERT_EQ(out.size(), 6u);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(out[i], expected[i] / 255.0f);
}

TEST(Preprocess, RejectsInconsistentInput) {
  EXPECT_THROW(repvk::preprocess(image(2, 2, 1, {1, 2, 3}), spec(1, 2, 2, {0.f}, {1.f})),
               repvk::Error);
  EXPECT_THROW(repvk::preprocess(image(0, 2, 1, {}), spec(1, 2, 2, {0.f}, {1.f})), repvk::Error);
  EXPECT_THROW(repvk::preprocess(image(1, 1, 5, {1, 2, 3, 4, 5}), spec(1, 1, 1, {0.f}, {1.f})),
               repvk::Error);
  EXPECT_THROW(repvk::preprocess(image(1, 1, 1, {1}), spec(1, 1, 1, {0.f}, {0.f})), repvk::Error);
  EXPECT_THROW(repvk::preprocess(image(1, 1, 1, {1}), spec(3, 1, 1, {0.f}, {1.f})), repvk::Error);
}

TEST(TopK, HighestFirst) {
  const std::vector<float> p = {0.1f, 0.5f, 0.05f, 0.35f};
  const auto top = repvk::top_k(p.data(), 4, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].label, 1u);
  EXPECT_EQ(top[1].label, 3u);
  EXPECT_EQ(top[2].label, 0u);
  EXPECT_EQ(top[0].probability, 0.5f);
}

TEST(TopK, TiesGoToLowerLabel) {
  const std::vector<float> p = {0.2f, 0.3f, 0.2f, 0.3f, 0.0f};
  const auto top = repvk::top_k(p.data(), 5, 5);
  ASSERT_EQ(top.size(), 5u);
  const std::vector<uint32_t> expected = {1, 3, 0, 2, 4};
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(top[i].label, expected[i]) << i;
}

TEST(TopK, ClampsKAndHandlesNan) {
  const std::vector<float> p = {std::numeric_limits<float>::quiet_NaN(), 0.4f, 0.6f};
  const auto top = repvk::top_k(p.data(), 3, 10);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].label, 2u);
  EXPECT_EQ(top[1].label, 1u);
  EXPECT_EQ(top[2].label, 0u);
  EXPECT_TRUE(repvk::top_k(p.data(), 3, 0).empty());
  EXPECT_TRUE(repvk::top_k(p.data(), 0, 3).empty());
}

}  // namespace
