// SPDX-License-Identifier: MIT
// `repvk-train export-onnx MODEL.rpvk OUT.onnx` (kept out of main.cpp).
#include <CLI/CLI.hpp>

#include <iostream>

#include "common.h"
#include "onnx/onnx_cli.h"
#include "onnx/onnx_export.h"

namespace repvk::train {

CLI::App* add_export_onnx_subcommand(CLI::App& app, ExportOnnxCommand& c) {
  auto* ex = app.add_subcommand("export-onnx", "write a .rpvk model as ONNX (fp32 weights, opset 13)");
  ex->footer(
      "The graph is what the engine runs: input 'pixels' [batch, C, H, W] on the [0,1] scale,\n"
      "Sub(mean)/Div(std) as stored in the model, Conv+Relu per conv3x3 layer, GlobalAveragePool,\n"
      "Flatten, Gemm; outputs 'logits' and (with a softmax layer) 'probabilities'. See docs/import.md.");
  ex->add_option("MODEL", c.model_path, "model file (.rpvk)")->required();
  ex->add_option("OUT", c.out, "ONNX file to write")->required();
  return ex;
}

int run_export_onnx(const ExportOnnxCommand& c) {
  repvk::Model m;
  try {
    m = repvk::read_model(c.model_path);
  } catch (const repvk::ModelError& e) {
    throw TrainError(e.what());
  }
  export_onnx(m, c.model_path, c.out);
  std::cout << "wrote " << c.out << ": " << m.layers.size() << " layers, input pixels [batch, "
            << m.input.channels << ", " << m.input.height << ", " << m.input.width << "] on the [0,1] scale\n";
  return 0;
}

}  // namespace repvk::train
