// SPDX-License-Identifier: MIT
// The size of an exported .rpvk file as a function of each layer's codebook width, so
// a byte budget can be planned before anything is quantized. The figures come from
// repvk_model itself (model_stats and serialize_model on a stand-in model with the
// same layers), so they count exactly what the writer stores: packed indices,
// codebooks, bias and the record fields.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <repvk/model.h>

#include "quant/cluster.h"

namespace repvk::train {

struct FileSizeModel {
  // file bytes = fixed_bytes + sum over layers of layer_bytes[l][bits - 1]
  uint64_t fixed_bytes = 0;                         // header, names, pooling, softmax, record fields
  std::vector<std::array<uint64_t, 8>> layer_bytes;  // per weighted layer (convs, then fc), bits 1..8
  std::vector<uint64_t> layer_weights;               // weights per layer (out * row_length)

  uint64_t file_bytes(const std::vector<int>& bits) const;
  // Weighted mean of the index widths, sum(weights * bits) / sum(weights).
  double mean_bits(const std::vector<int>& bits) const;
};

// `shape` is any model with the layers to be exported (e.g. build_model at fp32). Each
// codebook is taken to hold min(2^bits, group length) entries, which is what export
// writes when every group has that many distinct values (k-means with empty clusters
// refilled gives that); with fewer, the real file is smaller, never larger.
FileSizeModel codebook_file_size_model(const repvk::Model& shape, Granularity granularity);

}  // namespace repvk::train
