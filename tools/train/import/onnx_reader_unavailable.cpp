// SPDX-License-Identifier: MIT
// import_onnx when repvk-train is built without libonnx-dev: a clear error instead.
#include "import/onnx_reader.h"

namespace repvk::train {

bool onnx_import_available() { return false; }

OnnxImport import_onnx(const std::string& path, const std::string&) {
  throw TrainError(path + ": this repvk-train was built without ONNX support (install libonnx-dev, "
                   "e.g. with scripts/bootstrap.sh, and rebuild)");
}

}  // namespace repvk::train
