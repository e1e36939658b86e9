// SPDX-License-Identifier: MIT
// `repvk-train export-onnx`.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace repvk::train {

struct ExportOnnxCommand {
  std::string model_path, out;
};

CLI::App* add_export_onnx_subcommand(CLI::App& app, ExportOnnxCommand& cmd);
int run_export_onnx(const ExportOnnxCommand& cmd);

}  // namespace repvk::train
