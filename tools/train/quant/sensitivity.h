// SPDX-License-Identifier: MIT
// Per-layer sensitivity to codebook quantization, the input of the mixed-precision
// allocator (quant/bit_allocation.h).
//
// Measured: for each layer l and width b in 1..8, the increase of the mean
// cross-entropy on a held-out set when only layer l is replaced by its k-means
// quantization at b bits (the codebooks ClusterQAT starts from) and every other layer
// stays fp32. 9 layers x 8 widths = 72 forward passes over the set.
//
// Proxy (cheap, for comparison only): 0.5 * sum_i F_i (w_i - q_i)^2 with F the diagonal
// empirical Fisher information estimated from mini-batch gradients on the same set,
// the second-order Taylor estimate of the same loss increase.
#pragma once

#include <array>
#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "model/deploy.h"
#include "progress.h"
#include "quant/cluster.h"

namespace repvk::train {

struct SensitivityTable {
  nlohmann::json key;  // what the table was measured on (checkpoint, set, k-means settings)
  int64_t images = 0;
  double base_loss = 0, base_accuracy = 0;
  std::vector<std::string> layers;                  // conv0 .. fc
  std::vector<std::array<double, 8>> loss_increase;  // [layer][bits - 1]
  std::vector<std::array<double, 8>> accuracy;       // [layer][bits - 1], on the same set
  std::vector<std::array<double, 8>> fisher_proxy;   // [layer][bits - 1]
  double seconds = 0;
};

nlohmann::json sensitivity_to_json(const SensitivityTable& t);
// Throws TrainError naming `source` when the JSON is not a complete table.
SensitivityTable sensitivity_from_json(const nlohmann::json& j, const std::string& source);

// Measures the table on `set` (never the test set). `net` must have no hook; it is left
// without one.
SensitivityTable measure_sensitivity(DeployNetImpl& net, const Dataset& set, const Normalization& norm,
                                     const ClusterOptions& cluster, torch::Device device, Logger& log);

// Spearman rank correlation (average ranks for ties); 0 for fewer than two values.
double spearman_correlation(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace repvk::train
