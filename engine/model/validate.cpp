// SPDX-License-Identifier: MIT
// Semantic checks shared by the reader (after parsing) and the writer (before writing).
// Structural safety of the bytes is the parser's job; this file checks that a model in
// memory is one the engine can run and the writer can encode canonically.
#include <algorithm>
#include <cmath>

#include "layer_kind.h"

namespace repvk {
namespace {

enum class Phase { Spatial, Pooled };

struct Checker {
  const Model& model;
  const std::string& source;

  [[noreturn]] void fail(const std::string& msg) const { throw ModelError(source, -1, msg); }
  [[noreturn]] void fail(int i, const std::string& msg) const {
    throw ModelError(source, i, model.layers[size_t(i)].type, msg);
  }

  std::string producer(int i) const {
    if (i < 0) return "the input";
    return "layer " + std::to_string(i) + " (" +
           layer_type_name(model.layers[size_t(i)].type) + ")";
  }

  void check_name(const std::string& s, const std::string& what) const {
    if (s.size() > ModelLimits::kMaxNameBytes)
      fail(what + " is " + std::to_string(s.size()) + " bytes, above the limit of " +
           std::to_string(ModelLimits::kMaxNameBytes));
    if (!detail::is_valid_utf8(s)) fail(what + " is not valid UTF-8");
  }

  void check_resize(const InputSpec& in) const {
    switch (in.resize) {
      case InputResize::Stretch:
        if (in.resize_shorter != 0)
          fail("input resize 'stretch' takes no shorter-side length, got " +
               std::to_string(in.resize_shorter));
        return;
      case InputResize::ShorterSideCrop: {
        const uint32_t crop = std::max(in.height, in.width);
        if (in.resize_shorter < crop || in.resize_shorter > ModelLimits::kMaxSpatial)
          fail("input resize: shorter side " + std::to_string(in.resize_shorter) +
               " outside " + std::to_string(crop) + ".." +
               std::to_string(ModelLimits::kMaxSpatial) +
               " (it must cover the centre crop of " + std::to_string(in.height) + "x" +
               std::to_string(in.width) + ")");
        return;
      }
    }
    fail("unknown input resize mode " + std::to_string(uint32_t(in.resize)));
  }

  void check_header() const {
    check_name(model.name, "model name");
    const InputSpec& in = model.input;
    if (in.channels < 1 || in.channels > ModelLimits::kMaxInputChannels)
      fail("input channels " + std::to_string(in.channels) + " outside 1.." +
           std::to_string(ModelLimits::kMaxInputChannels));
    if (in.height < 1 || in.height > ModelLimits::kMaxSpatial || in.width < 1 ||
        in.width > ModelLimits::kMaxSpatial)
      fail("input size " + std::to_string(in.height) + "x" + std::to_string(in.width) +
           " outside 1.." + std::to_string(ModelLimits::kMaxSpatial));
    if (in.mean.size() != in.channels || in.std.size() != in.channels)
      fail("input mean/std need one value per channel (" + std::to_string(in.channels) +
           "), got " + std::to_string(in.mean.size()) + "/" + std::to_string(in.std.size()));
    for (uint32_t c = 0; c < in.channels; ++c) {
      if (!std::isfinite(in.mean[c]))
        fail("input mean of channel " + std::to_string(c) + " is not finite");
      if (!std::isfinite(in.std[c]) || !(in.std[c] > 0.0f))
        fail("input std of channel " + std::to_string(c) + " is " +
             std::to_string(in.std[c]) + "; it must be finite and > 0");
    }
    check_resize(in);
    const size_t classes = model.class_names.size();
    if (classes < 1 || classes > ModelLimits::kMaxClasses)
      fail("class count " + std::to_string(classes) + " outside 1.." +
           std::to_string(ModelLimits::kMaxClasses));
    for (size_t k = 0; k < classes; ++k)
      check_name(model.class_names[k], "class name " + std::to_string(k));
    if (model.layers.empty()) fail("model has no layers");
    if (model.layers.size() > ModelLimits::kMaxLayers)
      fail("layer count " + std::to_string(model.layers.size()) + " above the limit of " +
           std::to_string(ModelLimits::kMaxLayers));
  }

  std::vector<TensorShape> run() const {
    check_header();
    std::vector<TensorShape> shapes;
    shapes.reserve(model.layers.size());
    TensorShape s{model.input.channels, model.input.height, model.input.width};
    Phase phase = Phase::Spatial;
    int producer_of_c = -1;  // layer that produced the current channel count
    int last_weighted = -1;
    const int count = int(model.layers.size());
    for (int i = 0; i < count; ++i) {
      const Layer& l = model.layers[size_t(i)];
      const detail::LayerKind* kind = detail::find_layer_kind(l.type);
      if (kind == nullptr)
        throw ModelError(source, i, "unknown layer type " + std::to_string(uint32_t(l.type)));
      const detail::LayerCheck check{source, i, l, s, phase == Phase::Pooled, i == count - 1,
                                     producer(producer_of_c)};
      s = kind->check(check);
      if (kind->weighted) producer_of_c = last_weighted = i;
      if (kind->pools) phase = Phase::Pooled;
      shapes.push_back(s);
    }
    if (phase != Phase::Pooled) fail("model has no global_avg_pool");
    if (last_weighted < 0) fail("model has no conv3x3 or fully_connected layer");
    const Layer& lw = model.layers[size_t(last_weighted)];
    if (lw.out_channels != model.num_classes())
      fail(last_weighted, "outputs " + std::to_string(lw.out_channels) +
                              " values but the model has " +
                              std::to_string(model.num_classes()) + " class names");
    const uint64_t bytes = detail::serialized_size(model);
    if (bytes > ModelLimits::kMaxFileBytes)
      fail("the file would be " + std::to_string(bytes) + " bytes, above the limit of " +
           std::to_string(ModelLimits::kMaxFileBytes));
    return shapes;
  }
};

}  // namespace

namespace detail {

bool is_valid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned c = p[i];
    size_t len;
    uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return false;
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += len;
  }
  return true;
}

uint64_t serialized_size(const Model& m) {
  uint64_t n = kHeaderBytes + 4 + pad4(m.name.size());
  n += 12 + 8 * uint64_t(m.input.channels);
  if (has_resize_record(m.input)) n += 8;
  n += 4;
  for (const auto& c : m.class_names) n += 4 + pad4(c.size());
  n += 4;
  for (const auto& l : m.layers) {
    const LayerKind* kind = find_layer_kind(l.type);
    n += 4 + (kind ? kind->record_bytes(l) : 0);
  }
  return n;
}

}  // namespace detail

std::vector<TensorShape> validate_model(const Model& model, const std::string& source) {
  return Checker{model, source}.run();
}

}  // namespace repvk
