// SPDX-License-Identifier: MIT
// ModelError formatting.
#include "repvk/model.h"

namespace repvk {
namespace {

std::string format_error(const std::string& source, int layer, const char* type,
                         const std::string& problem) {
  std::string s = source.empty() ? std::string("<model>") : source;
  if (layer >= 0) {
    s += ": layer " + std::to_string(layer);
    if (type != nullptr) {
      s += " (";
      s += type;
      s += ")";
    }
  }
  s += ": ";
  s += problem;
  return s;
}

}  // namespace

ModelError::ModelError(const std::string& source, int layer, const std::string& problem)
    : Error(format_error(source, layer, nullptr, problem)),
      source_(source),
      layer_(layer),
      problem_(problem) {}

ModelError::ModelError(const std::string& source, int layer, LayerType type,
                       const std::string& problem)
    : Error(format_error(source, layer, layer_type_name(type), problem)),
      source_(source),
      layer_(layer),
      problem_(problem) {}

}  // namespace repvk
