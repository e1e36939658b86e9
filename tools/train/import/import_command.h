// SPDX-License-Identifier: MIT
// `repvk-train import`: a PyTorch RepVGG checkpoint or an ONNX graph to a .rpvk model file.
#pragma once

#include <iosfwd>

#include <repvk/model.h>

#include "quant/cluster.h"

namespace CLI {
class App;
}

namespace repvk::train {

struct ImportCommand {
  std::string pytorch_path;
  std::string onnx_path;     // instead of pytorch_path: an ONNX graph
  std::string out;
  std::string arch;          // cross-check and strides; "" = infer only
  std::string strides;       // "2,2,2,2,2"
  std::string input;         // "3x224x224"; default from the arch / input channels
  std::string mean, std;     // comma lists, on the [0, 1] pixel scale
  std::string resize;        // shorter side in pixels, or "none" (stretch); "" = default
  std::string labels;        // file: one class name per line
  std::string name;
  std::string storage = "fp32";  // fp32 | fp16: dense weights, or codebook values with --bits
  int bits = 0;                  // 0: dense; 1..8: k-means codebooks (PTQ, no data)
  int first_last_bits = 0;       // 0: same as --bits
  Granularity granularity = Granularity::Channel;
  double bn_eps = 1e-5;
  uint64_t seed = 1;
  int threads = 0;
};

// Adds the subcommand and its flags to `app`.
CLI::App* add_import_subcommand(CLI::App& app, ImportCommand& cmd);

// Reads, checks and converts; prints a summary to `log`. Throws TrainError.
repvk::Model build_imported_model(const ImportCommand& cmd, std::ostream& log);

int run_import(const ImportCommand& cmd);

}  // namespace repvk::train
