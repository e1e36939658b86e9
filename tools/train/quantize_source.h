// SPDX-License-Identifier: MIT
// What `repvk-train quantize` starts from: the merged fp32 network of a training
// checkpoint (--checkpoint), or the network stored in a .rpvk model file (--model;
// codebook layers are decoded to fp32), with its normalization and class names.
#pragma once

#include <optional>

#include "commands.h"
#include "model/deploy.h"

namespace repvk::train {

struct QuantSource {
  std::string path;                   // the checkpoint or model file
  DeployNet deploy{nullptr};          // merged fp32, on the CPU
  Normalization norm;
  std::vector<std::string> classes;
  DataOptions data;                   // the training run's data; defaults for a model file
  std::string preset;                 // for the exported model's name
  int64_t channels = 1, height = 28, width = 28;
  std::optional<ModelConfig> config;  // checkpoints only
};

QuantSource load_quant_source(const QuantizeCommand& cmd);

// Throws TrainError when the dataset's images or classes do not fit the network.
void check_source_data(const QuantSource& src, const Dataset& train);

}  // namespace repvk::train
