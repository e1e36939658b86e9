// SPDX-License-Identifier: MIT
// Reads a RepVGG classifier from an ONNX file (libonnx's protobuf classes) into the
// deploy network the engine runs. The graph is walked backwards from its outputs by
// node inputs and outputs (node order is not relied on):
//   [Softmax] <- Gemm | MatMul [+ Add] <- [Flatten | Reshape | Squeeze]
//   <- GlobalAveragePool | ReduceMean(H, W) <- blocks <- the graph input,
// where a block is Relu(sum of branches), the sum an Add tree over
//   one 3x3 Conv (pads 1, stride 1|2) [+ BatchNormalization],
//   at most one 1x1 Conv (pads 0, the same stride) [+ BatchNormalization],
//   at most one identity (BatchNormalization of the block input, or the input itself),
// all reading the block input. Training-form blocks are merged by the trainer's own
// RepBlock::merge, with each BatchNormalization's own epsilon. Constants may be
// initializers or Constant nodes, also behind Identity nodes (torch.onnx.export
// writes those for deduplicated parameters). Every node of the graph must be part of
// this pattern; anything else is refused naming the node and its op type.
#pragma once

#include "import/repvgg_import.h"

namespace repvk::train {

struct OnnxImport {
  ImportedRepvgg net;  // strides from the graph; input_height/width from a static input shape
  size_t nodes = 0;
  int64_t opset = 0;        // of the default domain
  std::string producer;     // e.g. "pytorch 1.13.0"
  std::string input_name;   // the graph input
  size_t batchnorm_nodes = 0;
  bool softmax = false;     // the graph ends in Softmax (the engine's model always does)
};

// False when repvk-train was built without libonnx-dev (then import_onnx throws).
bool onnx_import_available();

// Throws TrainError naming `path` and the node, tensor or shape at fault. `arch`
// ("" = none) cross-checks depths, widths and strides.
OnnxImport import_onnx(const std::string& path, const std::string& arch);

}  // namespace repvk::train
