// SPDX-License-Identifier: MIT
// Outlier statistics of the merged (deploy) weights, per layer: the quantities that
// decide how well a layer survives low-bit quantization.
#pragma once

#include <nlohmann/json.hpp>

#include "model/deploy.h"

namespace repvk::train {

struct LayerOutliers {
  std::string name;
  int64_t count = 0;
  double max_over_std = 0;    // max|w| / std(w)
  double kurtosis = 0;        // Pearson (Gaussian = 3)
  double beyond_3sigma = 0;   // share of |w - mean| > 3 std
  double centre_ratio = 0;    // conv: mean|centre tap| / mean|off-centre tap|; fc: 0
};

std::vector<LayerOutliers> outlier_stats(const std::vector<torch::Tensor>& weights);
// Index of the layer with the largest max|w|/std.
size_t worst_layer(const std::vector<LayerOutliers>& s);
std::string outlier_table(const std::vector<LayerOutliers>& s);
nlohmann::json outlier_json(const std::vector<LayerOutliers>& s);

}  // namespace repvk::train
