// SPDX-License-Identifier: MIT
// Helpers for the whole-network tests (test_network*.cpp): random synthetic models, the
// error metric of logits and probabilities, and a random batch of inputs.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "repvk/model.h"
#include "repvk/synthetic.h"

namespace repvk::test {

// max_i |got_i - want_i| / max_j |want_j|: relative to the largest output, so that
// logits near zero do not demand more than the arithmetic can give.
inline double max_rel_error(const std::vector<float>& got, const std::vector<float>& want) {
  double scale = 1e-6;
  for (float v : want) scale = std::max(scale, double(std::fabs(v)));
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    worst = std::max(worst, std::fabs(double(got[i]) - want[i]) / scale);
  }
  return worst;
}

// 1-3 input channels, 5-32 pixels a side, 2-4 stages of 1-2 convs of 1-40 channels,
// stride 1 or 2, any bit width or fp32, either codebook granularity.
inline SyntheticConfig random_network_config(std::mt19937_64& rng) {
  SyntheticConfig c;
  c.name = "random";
  c.in_channels = 1 + rng() % 3;
  c.height = 5 + rng() % 28;
  c.width = 5 + rng() % 28;
  c.num_classes = 2 + rng() % 20;
  const uint32_t stages = 2 + rng() % 3;
  for (uint32_t s = 0; s < stages; ++s) {
    c.stage_depths.push_back(1 + rng() % 2);
    c.stage_widths.push_back(1 + rng() % 40);
    c.stage_strides.push_back(1 + rng() % 2);
  }
  c.quantized = rng() % 5 != 0;
  c.bits = 1 + rng() % 8;
  c.granularity = rng() % 2 ? CodebookGranularity::PerLayer : CodebookGranularity::PerOutputChannel;
  c.seed = rng();
  return c;
}

inline std::string describe_network(const SyntheticConfig& c) {
  std::string s = std::to_string(c.in_channels) + "x" + std::to_string(c.height) + "x" +
                  std::to_string(c.width) + " widths";
  for (uint32_t w : c.stage_widths) s += " " + std::to_string(w);
  s += c.quantized ? " bits " + std::to_string(c.bits) : " fp32";
  s += c.granularity == CodebookGranularity::PerLayer ? " per-layer" : " per-channel";
  return s;
}

// Uniform in [-2, 2]; rounded to half when the network stores activations as half, so
// that the reference starts from the values the GPU sees.
inline std::vector<float> random_network_input(std::mt19937_64& rng, size_t floats, bool half) {
  std::vector<float> input(floats);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  for (float& v : input) v = u(rng);
  if (half)
    for (float& v : input) v = half_to_float(float_to_half(v));
  return input;
}

}  // namespace repvk::test
