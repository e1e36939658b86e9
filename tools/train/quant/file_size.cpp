// SPDX-License-Identifier: MIT
#include "quant/file_size.h"

#include <algorithm>
#include <stdexcept>

namespace repvk::train {

uint64_t FileSizeModel::file_bytes(const std::vector<int>& bits) const {
  if (bits.size() != layer_bytes.size()) throw std::logic_error("file_bytes: one width per layer");
  uint64_t n = fixed_bytes;
  for (size_t l = 0; l < bits.size(); ++l) n += layer_bytes[l].at(size_t(bits[l] - 1));
  return n;
}

double FileSizeModel::mean_bits(const std::vector<int>& bits) const {
  uint64_t total = 0, weighted = 0;
  for (size_t l = 0; l < bits.size(); ++l) {
    total += layer_weights[l];
    weighted += layer_weights[l] * uint64_t(bits[l]);
  }
  return total ? double(weighted) / double(total) : 0.0;
}

FileSizeModel codebook_file_size_model(const repvk::Model& shape, Granularity granularity) {
  repvk::Model base = shape;
  std::vector<size_t> weighted;
  for (size_t i = 0; i < base.layers.size(); ++i) {
    repvk::Layer& l = base.layers[i];
    if (!l.has_weights()) continue;
    weighted.push_back(i);
    l.weights = repvk::Weights{};
    l.bias.assign(l.out_channels, 0.0f);
  }
  FileSizeModel s;
  s.layer_bytes.resize(weighted.size());
  for (size_t i : weighted)
    s.layer_weights.push_back(uint64_t(base.layers[i].out_channels) * base.layers[i].row_length());
  for (int b = 1; b <= 8; ++b) {
    repvk::Model m = base;
    for (size_t i : weighted) {
      repvk::Layer& l = m.layers[i];
      repvk::Weights& w = l.weights;
      const bool per_channel = granularity == Granularity::Channel;
      const uint64_t rows = l.out_channels, row = l.row_length();
      const uint64_t groups = per_channel ? rows : 1, group_len = per_channel ? row : rows * row;
      w.encoding = repvk::WeightEncoding::Codebook;
      w.bits = uint32_t(b);
      w.granularity = per_channel ? repvk::CodebookGranularity::PerOutputChannel
                                  : repvk::CodebookGranularity::PerLayer;
      w.codebook_storage = repvk::ValueStorage::Fp32;
      w.codebook_size = uint32_t(std::min<uint64_t>(uint64_t(1) << b, group_len));
      w.codebooks.assign(groups * w.codebook_size, 0.0f);
      w.packed.assign(rows * repvk::words_per_row(row, uint32_t(b)), 0u);
    }
    const std::vector<repvk::LayerStats> stats = repvk::model_stats(m);
    uint64_t layers = 0;
    for (size_t k = 0; k < weighted.size(); ++k) {
      s.layer_bytes[k][size_t(b - 1)] = stats[weighted[k]].weight_bytes;
      layers += stats[weighted[k]].weight_bytes;
    }
    const uint64_t fixed = repvk::serialize_model(m).size() - layers;
    if (b > 1 && fixed != s.fixed_bytes)
      throw std::logic_error("file size model: the fixed part depends on the widths");
    s.fixed_bytes = fixed;
  }
  return s;
}

}  // namespace repvk::train
