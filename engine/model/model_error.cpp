// ModelError formatting and the small per-layer helpers declared in model.h.
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
    : std::runtime_error(format_error(source, layer, nullptr, problem)),
      source_(source),
      layer_(layer),
      problem_(problem) {}

ModelError::ModelError(const std::string& source, int layer, LayerType type,
                       const std::string& problem)
    : std::runtime_error(format_error(source, layer, layer_type_name(type), problem)),
      source_(source),
      layer_(layer),
      problem_(problem) {}

const char* layer_type_name(LayerType t) {
  switch (t) {
    case LayerType::Conv3x3: return "conv3x3";
    case LayerType::GlobalAvgPool: return "global_avg_pool";
    case LayerType::FullyConnected: return "fully_connected";
    case LayerType::Softmax: return "softmax";
  }
  return "unknown";
}

uint64_t Layer::row_length() const {
  switch (type) {
    case LayerType::Conv3x3: return uint64_t(in_channels) * 9;
    case LayerType::FullyConnected: return in_channels;
    default: return 0;
  }
}

}  // namespace repvk
