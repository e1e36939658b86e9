// SPDX-License-Identifier: MIT
#include "report.h"

#include <cstdio>

namespace repvk::train {

std::vector<LayerOutliers> outlier_stats(const std::vector<torch::Tensor>& weights) {
  std::vector<LayerOutliers> out;
  for (size_t l = 0; l < weights.size(); ++l) {
    torch::Tensor w = weights[l].detach().to(torch::kCPU, torch::kFloat64);
    torch::Tensor flat = w.reshape({-1});
    LayerOutliers s;
    s.name = w.dim() == 4 ? "conv" + std::to_string(l) : "fc";
    s.count = flat.numel();
    const double mean = flat.mean().item<double>();
    const double sd = flat.std(false).item<double>();
    torch::Tensor z = (flat - mean) / std::max(sd, 1e-30);
    s.max_over_std = flat.abs().max().item<double>() / std::max(sd, 1e-30);
    s.kurtosis = z.pow(4).mean().item<double>();
    s.beyond_3sigma = (z.abs() > 3).to(torch::kFloat64).mean().item<double>();
    if (w.dim() == 4) {
      torch::Tensor a = w.abs();
      const double centre = a.select(3, 1).select(2, 1).mean().item<double>();
      const double total = a.sum().item<double>();
      const double off = (total - centre * double(w.size(0) * w.size(1))) /
                         double(w.size(0) * w.size(1) * 8);
      s.centre_ratio = centre / std::max(off, 1e-30);
    }
    out.push_back(s);
  }
  return out;
}

size_t worst_layer(const std::vector<LayerOutliers>& s) {
  size_t w = 0;
  for (size_t i = 1; i < s.size(); ++i)
    if (s[i].max_over_std > s[w].max_over_std) w = i;
  return w;
}

std::string outlier_table(const std::vector<LayerOutliers>& s) {
  std::string t = "layer      weights  max|w|/std  kurtosis  >3sigma%  centre/off\n";
  char line[160];
  for (const auto& l : s) {
    std::snprintf(line, sizeof line, "%-8s %9lld  %10.2f  %8.2f  %8.3f  %10.2f\n", l.name.c_str(),
                  static_cast<long long>(l.count), l.max_over_std, l.kurtosis,
                  100.0 * l.beyond_3sigma, l.centre_ratio);
    t += line;
  }
  const auto& w = s[worst_layer(s)];
  std::snprintf(line, sizeof line, "worst layer: %s (max|w|/std %.2f, kurtosis %.2f)\n",
                w.name.c_str(), w.max_over_std, w.kurtosis);
  return t + line;
}

nlohmann::json outlier_json(const std::vector<LayerOutliers>& s) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : s)
    layers.push_back({{"name", l.name},
                      {"weights", l.count},
                      {"max_abs_over_std", l.max_over_std},
                      {"kurtosis", l.kurtosis},
                      {"share_beyond_3sigma", l.beyond_3sigma},
                      {"centre_to_offcentre", l.centre_ratio}});
  return {{"layers", layers}, {"worst_layer", s[worst_layer(s)].name}};
}

}  // namespace repvk::train
