// SPDX-License-Identifier: MIT
// Export of a deploy network to the engine's model format, through repvk_model (the
// format's only reader and writer; write_model validates and writes atomically).
#pragma once

#include <repvk/model.h>

#include "data/dataset.h"
#include "model/deploy.h"
#include "quant/cluster.h"

namespace repvk::train {

struct ExportSpec {
  std::string name;
  int64_t channels = 1, height = 28, width = 28;
  Normalization norm;
  std::vector<std::string> class_names;
};

struct LayerEncoding {
  int bits = 0;  // 0: dense fp32; 1..8: codebook
  Granularity granularity = Granularity::Channel;
};

// Builds the model from the weights the forward pass uses (after the quantization
// hook). A codebook layer's codebook is the sorted set of distinct values of each
// group, padded by repeating its last entry, so the exported weights are bit-exact.
// Throws TrainError if a group has more than 2^bits distinct values.
repvk::Model build_model(DeployNetImpl& net, const ExportSpec& spec,
                         const std::vector<LayerEncoding>& enc);

void export_model(DeployNetImpl& net, const ExportSpec& spec,
                  const std::vector<LayerEncoding>& enc, const std::string& path);

// The reverse: a deploy network computing what `model` computes (codebooks decoded
// to fp32; a trailing softmax is left to the caller, the network returns logits).
// Throws TrainError naming `source` if the model is not a chain of ReLU conv3x3
// layers, one global average pool and one fc, which is all the trainer produces.
DeployNet deploy_from_model(const repvk::Model& model, const std::string& source);

}  // namespace repvk::train
