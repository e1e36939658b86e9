// SPDX-License-Identifier: MIT
// Deterministic synthetic models: RepVGG-shaped networks with random codebook or
// fp32 weights. Used by tests, benchmarks and the README's main command until a
// trained model is bundled. Weights are scaled (He-style) so activations stay O(1).
#pragma once

#include "repvk/export.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "repvk/model.h"

namespace repvk {

struct SyntheticConfig {
  std::string name = "synthetic";
  uint32_t in_channels = 1, height = 28, width = 28;
  uint32_t num_classes = 10;
  std::vector<uint32_t> stage_depths;   // conv layers per stage
  std::vector<uint32_t> stage_widths;   // output channels per stage
  std::vector<uint32_t> stage_strides;  // stride of each stage's first conv
  bool quantized = true;                // codebook (true) or fp32 (false) weights
  uint32_t bits = 4;                    // 1..8 when quantized
  CodebookGranularity granularity = CodebookGranularity::PerOutputChannel;
  uint64_t seed = 1;
  // Optional: class names (empty -> "class_0".."class_N-1") and per-channel input
  // normalization (empty -> mean 0, std 1).
  std::vector<std::string> class_names;
  std::vector<float> mean, std;
};

// Presets: "small" (1x28x28, 10 classes), "A0", "A1", "B0" (3x224x224, 1000 classes).
// Throws std::invalid_argument for an unknown preset name.
REPVK_API SyntheticConfig synthetic_preset(const std::string& preset);
REPVK_API std::vector<std::string> synthetic_preset_names();

REPVK_API Model make_synthetic_model(const SyntheticConfig& config);

// Deterministic 1-D k-means: k-means++ seeding from `seed` (on at most 4096 sampled
// values), then Lloyd iterations until the centroids stop moving or max_iterations.
// Returns sorted, distinct centroids: min(k, distinct values) of them. The one k-means
// of the project: quantize_layer_kmeans and the trainer (ClusterQAT) both use it.
// Throws std::invalid_argument for k == 0.
REPVK_API std::vector<double> kmeans_1d(std::vector<double> values, size_t k, uint64_t seed,
                                        int max_iterations = 100);

// Quantizes dense fp32 weights of `layer` in place to a codebook encoding with
// `bits` bits via deterministic 1-D k-means (used for synthetic models and tests).
REPVK_API void quantize_layer_kmeans(Layer& layer, uint32_t bits,
                                     CodebookGranularity granularity, uint64_t seed);

}  // namespace repvk
