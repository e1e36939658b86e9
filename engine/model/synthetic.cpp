// SPDX-License-Identifier: MIT
// Deterministic RepVGG-shaped models with random weights.
//
// Weights come from std::mt19937_64 (specified bit for bit by the standard) through
// our own Box-Muller transform: std::normal_distribution is implementation-defined,
// and the same seed must give the same model with libstdc++ and libc++.
#include <cmath>
#include <random>
#include <stdexcept>

#include "internal.h"
#include "repvk/synthetic.h"

namespace repvk {
namespace {

uint64_t mix(uint64_t seed, uint64_t stream) {
  uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class Gaussian {
 public:
  explicit Gaussian(uint64_t seed) : g_(seed) {}
  double uniform() { return double(g_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double next() {
    if (have_spare_) {
      have_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - uniform();  // (0, 1]: log stays finite
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double a = 2.0 * 3.14159265358979323846 * u2;
    spare_ = r * std::sin(a);
    have_spare_ = true;
    return r * std::cos(a);
  }

 private:
  std::mt19937_64 g_;
  double spare_ = 0.0;
  bool have_spare_ = false;
};

Layer weighted_layer(LayerType type, uint32_t in, uint32_t out, uint32_t stride, bool relu,
                     uint64_t seed) {
  Layer l;
  l.type = type;
  l.in_channels = in;
  l.out_channels = out;
  l.stride = stride;
  l.relu = relu;
  const uint64_t row = l.row_length();
  // He init for ReLU layers keeps activation variance roughly constant with depth;
  // the classifier uses 1/fan_in so logits stay O(1).
  const double scale = std::sqrt((relu ? 2.0 : 1.0) / double(row));
  Gaussian rng(seed);
  l.weights.dense.resize(size_t(row * out));
  for (float& w : l.weights.dense) w = float(rng.next() * scale);
  l.bias.resize(out);
  for (float& b : l.bias) b = float((rng.uniform() - 0.5) * 0.02);
  return l;
}

Layer plain_layer(LayerType type, uint32_t channels) {
  Layer l;
  l.type = type;
  l.in_channels = l.out_channels = channels;
  return l;
}

SyntheticConfig repvgg(const std::string& name, std::vector<uint32_t> depths,
                       std::vector<uint32_t> widths) {
  SyntheticConfig c;
  c.name = "synthetic-" + name;
  c.in_channels = 3;
  c.height = c.width = 224;
  c.num_classes = 1000;
  c.stage_depths = std::move(depths);
  c.stage_widths = std::move(widths);
  c.stage_strides = {2, 2, 2, 2, 2};
  c.mean = {0.485f, 0.456f, 0.406f};
  c.std = {0.229f, 0.224f, 0.225f};
  return c;
}

}  // namespace

std::vector<std::string> synthetic_preset_names() { return {"small", "A0", "A1", "B0"}; }

SyntheticConfig synthetic_preset(const std::string& preset) {
  if (preset == "small") {
    SyntheticConfig c;
    c.name = "synthetic-small";
    c.in_channels = 1;
    c.height = c.width = 28;
    c.num_classes = 10;
    c.stage_depths = {1, 2, 2, 2, 1};
    c.stage_widths = {16, 32, 64, 128, 256};
    c.stage_strides = {1, 2, 2, 2, 1};
    c.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                     "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    c.mean = {0.2860f};
    c.std = {0.3530f};
    return c;
  }
  if (preset == "A0") return repvgg("A0", {1, 2, 4, 14, 1}, {48, 48, 96, 192, 1280});
  if (preset == "A1") return repvgg("A1", {1, 2, 4, 14, 1}, {64, 64, 128, 256, 1280});
  if (preset == "B0") return repvgg("B0", {1, 4, 6, 16, 1}, {64, 64, 128, 256, 1280});
  throw std::invalid_argument("unknown synthetic preset '" + preset +
                              "' (known: small, A0, A1, B0)");
}

Model make_synthetic_model(const SyntheticConfig& cfg) {
  const size_t stages = cfg.stage_depths.size();
  if (stages == 0 || cfg.stage_widths.size() != stages || cfg.stage_strides.size() != stages)
    throw std::invalid_argument(
        "make_synthetic_model: stage depths, widths and strides must be non-empty and "
        "of equal length");
  if (cfg.quantized && (cfg.bits < 1 || cfg.bits > 8))
    throw std::invalid_argument("make_synthetic_model: bits " + std::to_string(cfg.bits) +
                                " outside 1..8");
  if (cfg.num_classes == 0 ||
      (!cfg.class_names.empty() && cfg.class_names.size() != cfg.num_classes))
    throw std::invalid_argument("make_synthetic_model: class_names must be empty or have "
                                "num_classes entries");

  Model m;
  m.name = cfg.name;
  m.input.channels = cfg.in_channels;
  m.input.height = cfg.height;
  m.input.width = cfg.width;
  m.input.mean = cfg.mean.empty() ? std::vector<float>(cfg.in_channels, 0.0f) : cfg.mean;
  m.input.std = cfg.std.empty() ? std::vector<float>(cfg.in_channels, 1.0f) : cfg.std;
  m.class_names = cfg.class_names;
  if (m.class_names.empty())
    for (uint32_t k = 0; k < cfg.num_classes; ++k)
      m.class_names.push_back("class_" + std::to_string(k));

  // Each layer draws from its own stream so one layer's size never shifts another's
  // weights, and quantization seeds are independent of weight seeds.
  uint32_t channels = cfg.in_channels;
  uint64_t stream = 0;
  for (size_t s = 0; s < stages; ++s) {
    for (uint32_t d = 0; d < cfg.stage_depths[s]; ++d) {
      const uint32_t stride = d == 0 ? cfg.stage_strides[s] : 1;
      m.layers.push_back(weighted_layer(LayerType::Conv3x3, channels, cfg.stage_widths[s],
                                        stride, true, mix(cfg.seed, 2 * stream)));
      channels = cfg.stage_widths[s];
      ++stream;
    }
  }
  m.layers.push_back(plain_layer(LayerType::GlobalAvgPool, channels));
  m.layers.push_back(weighted_layer(LayerType::FullyConnected, channels, cfg.num_classes, 1,
                                    false, mix(cfg.seed, 2 * stream)));
  m.layers.push_back(plain_layer(LayerType::Softmax, cfg.num_classes));

  if (cfg.quantized) {
    for (size_t i = 0; i < m.layers.size(); ++i)
      if (m.layers[i].has_weights())
        quantize_layer_kmeans(m.layers[i], cfg.bits, cfg.granularity,
                              mix(cfg.seed, 2 * i + 1));
  }
  try {
    validate_model(m, m.name);
  } catch (const ModelError& e) {
    throw std::invalid_argument(std::string("make_synthetic_model: ") + e.what());
  }
  return m;
}

}  // namespace repvk
