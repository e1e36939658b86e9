// SPDX-License-Identifier: MIT
// Per-layer cost figures for `repvk info` and the benchmarks.
#include "internal.h"

namespace repvk {

std::vector<LayerStats> model_stats(const Model& model) {
  // Shapes come from validation, so stats are only ever reported for runnable models.
  const std::vector<TensorShape> shapes = validate_model(model, model.name);
  std::vector<LayerStats> stats(model.layers.size());
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const Layer& l = model.layers[i];
    if (!l.has_weights()) continue;  // pooling and softmax are negligible; counted as 0
    LayerStats& s = stats[i];
    const uint64_t macs_per_output = l.row_length();
    const uint64_t outputs = shapes[i].elements();  // out * oh * ow (fc: out)
    s.flops = 2 * outputs * macs_per_output;
    s.weight_bytes = detail::stored_weight_bytes(l);
    s.fp32_bytes = 4 * (uint64_t(l.out_channels) * l.row_length() + l.out_channels);
  }
  return stats;
}

}  // namespace repvk
