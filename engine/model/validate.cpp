// Semantic checks shared by the reader (after parsing) and the writer (before writing).
// Structural safety of the bytes is the parser's job; this file checks that a model in
// memory is one the engine can run and the writer can encode canonically.
#include <cmath>

#include "internal.h"

namespace repvk {
namespace {

using detail::kFlagRelu;

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

  void check_finite(int i, const std::vector<float>& v, const char* what) const {
    for (size_t k = 0; k < v.size(); ++k)
      if (!std::isfinite(v[k])) fail(i, std::string(what) + " " + std::to_string(k) +
                                          " is not finite");
  }

  // Values stored as fp16 must stay finite once rounded (|v| < 65520).
  void check_fits_fp16(int i, const std::vector<float>& v, const char* what) const {
    for (size_t k = 0; k < v.size(); ++k)
      if (!std::isfinite(detail::half_to_float(detail::float_to_half(v[k]))))
        fail(i, std::string(what) + " " + std::to_string(k) + " (" + std::to_string(v[k]) +
                    ") overflows fp16 storage");
  }

  void check_channels(int i, const Layer& l) const {
    const uint32_t lim = ModelLimits::kMaxChannels;
    if (l.in_channels < 1 || l.in_channels > lim)
      fail(i, "in_channels " + std::to_string(l.in_channels) + " outside 1.." +
                  std::to_string(lim));
    if (l.out_channels < 1 || l.out_channels > lim)
      fail(i, "out_channels " + std::to_string(l.out_channels) + " outside 1.." +
                  std::to_string(lim));
  }

  void check_codebook_indices(int i, const Layer& l) const {
    const Weights& w = l.weights;
    const uint64_t row = l.row_length();
    const uint32_t per = indices_per_word(w.bits);
    const uint64_t wpr = words_per_row(row, w.bits);
    const uint32_t mask = (1u << w.bits) - 1;
    for (uint64_t o = 0; o < l.out_channels; ++o) {
      const uint32_t* words = w.packed.data() + o * wpr;
      for (uint64_t k = 0; k < wpr; ++k) {
        const uint64_t used = std::min<uint64_t>(per, row - k * per);
        const uint32_t used_bits = uint32_t(used) * w.bits;
        const uint32_t word = words[k];
        if (used_bits < 32 && (word >> used_bits) != 0)
          fail(i, "nonzero padding bits in word " + std::to_string(k) +
                      " of output channel " + std::to_string(o));
        for (uint32_t s = 0; s < used; ++s) {
          const uint32_t idx = (word >> (s * w.bits)) & mask;
          if (idx >= w.codebook_size)
            fail(i, "index " + std::to_string(idx) + " at output channel " +
                        std::to_string(o) + ", position " + std::to_string(k * per + s) +
                        " is at or beyond codebook_size " + std::to_string(w.codebook_size));
        }
      }
    }
  }

  void check_weights(int i, const Layer& l) const {
    const Weights& w = l.weights;
    const uint64_t row = l.row_length();
    const uint64_t n = uint64_t(l.out_channels) * row;  // channel limits keep this small
    if (n > ModelLimits::kMaxLayerWeights)
      fail(i, std::to_string(n) + " weights, above the per-layer limit of " +
                  std::to_string(ModelLimits::kMaxLayerWeights));
    if (w.encoding == WeightEncoding::Fp32) {
      if (!w.codebooks.empty() || !w.packed.empty())
        fail(i, "fp32 weights must not carry codebooks or packed indices");
      if (w.dense.size() != n)
        fail(i, std::to_string(w.dense.size()) + " dense weights, expected " +
                    std::to_string(n));
      check_finite(i, w.dense, "weight");
      if (w.dense_storage != ValueStorage::Fp32 && w.dense_storage != ValueStorage::Fp16)
        fail(i, "unknown dense weight storage " + std::to_string(uint32_t(w.dense_storage)));
      if (w.dense_storage == ValueStorage::Fp16) check_fits_fp16(i, w.dense, "weight");
    } else if (w.encoding == WeightEncoding::Codebook) {
      if (!w.dense.empty()) fail(i, "codebook weights must not carry dense weights");
      // The file has no field for it, so it would not survive a round trip.
      if (w.dense_storage != ValueStorage::Fp32)
        fail(i, "codebook weights must leave dense_storage at fp32");
      if (w.bits < 1 || w.bits > 8)
        fail(i, "bits " + std::to_string(w.bits) + " outside 1..8");
      if (w.granularity != CodebookGranularity::PerLayer &&
          w.granularity != CodebookGranularity::PerOutputChannel)
        fail(i, "unknown codebook granularity " + std::to_string(uint32_t(w.granularity)));
      if (w.codebook_storage != CodebookStorage::Fp32 &&
          w.codebook_storage != CodebookStorage::Fp16)
        fail(i, "unknown codebook storage " + std::to_string(uint32_t(w.codebook_storage)));
      const uint32_t max_size = 1u << w.bits;
      if (w.codebook_size < 1 || w.codebook_size > max_size)
        fail(i, "codebook_size " + std::to_string(w.codebook_size) + " outside 1.." +
                    std::to_string(max_size) + " for " + std::to_string(w.bits) + " bits");
      const uint64_t values = detail::codebook_groups(l) * w.codebook_size;
      if (w.codebooks.size() != values)
        fail(i, std::to_string(w.codebooks.size()) + " codebook values, expected " +
                    std::to_string(values));
      check_finite(i, w.codebooks, "codebook value");
      if (w.codebook_storage == CodebookStorage::Fp16)
        check_fits_fp16(i, w.codebooks, "codebook value");
      const uint64_t words = uint64_t(l.out_channels) * words_per_row(row, w.bits);
      if (w.packed.size() != words)
        fail(i, std::to_string(w.packed.size()) + " packed words, expected " +
                    std::to_string(words));
      check_codebook_indices(i, l);
    } else {
      fail(i, "unknown weight encoding " + std::to_string(uint32_t(w.encoding)));
    }
    if (l.bias.size() != l.out_channels)
      fail(i, std::to_string(l.bias.size()) + " bias values, expected " +
                  std::to_string(l.out_channels));
    check_finite(i, l.bias, "bias");
  }

  void check_payload_free(int i, const Layer& l, uint32_t c) const {
    if (l.relu) fail(i, "relu is only allowed on conv3x3 and fully_connected");
    if (l.stride != 1) fail(i, "stride is only allowed on conv3x3");
    if ((l.in_channels != 0 && l.in_channels != c) ||
        (l.out_channels != 0 && l.out_channels != c))
      fail(i, "in/out channels must be 0 or " + std::to_string(c));
    const Weights& w = l.weights;
    if (!w.dense.empty() || !w.codebooks.empty() || !w.packed.empty() || !l.bias.empty())
      fail(i, "layer type carries no weights or bias");
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
      switch (l.type) {
        case LayerType::Conv3x3:
          if (phase != Phase::Spatial)
            fail(i, "conv3x3 after global_avg_pool: convolutions need a spatial input");
          check_channels(i, l);
          if (l.in_channels != s.c)
            fail(i, "in_channels " + std::to_string(l.in_channels) + " does not match the " +
                        std::to_string(s.c) + " channels produced by " +
                        producer(producer_of_c));
          if (l.stride != 1 && l.stride != 2)
            fail(i, "stride " + std::to_string(l.stride) + " is not 1 or 2");
          check_weights(i, l);
          // Pad 1, 3x3: out = floor((n - 1) / stride) + 1, never 0 for n >= 1.
          s = TensorShape{l.out_channels, (s.h - 1) / l.stride + 1, (s.w - 1) / l.stride + 1};
          producer_of_c = last_weighted = i;
          break;
        case LayerType::FullyConnected:
          if (phase != Phase::Pooled)
            fail(i, "fully_connected needs a 1x1 input: put a global_avg_pool before it");
          check_channels(i, l);
          if (l.in_channels != s.c)
            fail(i, "in_channels " + std::to_string(l.in_channels) + " does not match the " +
                        std::to_string(s.c) + " features produced by " +
                        producer(producer_of_c));
          if (l.stride != 1) fail(i, "stride is only allowed on conv3x3");
          check_weights(i, l);
          s = TensorShape{l.out_channels, 1, 1};
          producer_of_c = last_weighted = i;
          break;
        case LayerType::GlobalAvgPool:
          if (phase != Phase::Spatial) fail(i, "a model has exactly one global_avg_pool");
          check_payload_free(i, l, s.c);
          s = TensorShape{s.c, 1, 1};
          phase = Phase::Pooled;
          break;
        case LayerType::Softmax:
          if (i != count - 1) fail(i, "softmax must be the last layer");
          if (phase != Phase::Pooled) fail(i, "softmax needs a pooled input");
          check_payload_free(i, l, s.c);
          break;
        default:
          throw ModelError(source, i, "unknown layer type " + std::to_string(uint32_t(l.type)));
      }
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

uint64_t stored_weight_bytes(const Layer& l) {
  const Weights& w = l.weights;
  uint64_t bytes = 4 * uint64_t(l.out_channels);  // bias
  if (w.encoding == WeightEncoding::Fp32)
    return bytes + (w.dense_storage == ValueStorage::Fp16 ? pad4(2 * uint64_t(w.dense.size()))
                                                          : 4 * uint64_t(w.dense.size()));
  const uint64_t per_value = w.codebook_storage == CodebookStorage::Fp16 ? 2 : 4;
  return bytes + pad4(per_value * w.codebooks.size()) + 4 * uint64_t(w.packed.size());
}

uint64_t serialized_size(const Model& m) {
  uint64_t n = kHeaderBytes + 4 + pad4(m.name.size());
  n += 12 + 8 * uint64_t(m.input.channels);
  n += 4;
  for (const auto& c : m.class_names) n += 4 + pad4(c.size());
  n += 4;
  for (const auto& l : m.layers) {
    n += 4;
    switch (l.type) {
      case LayerType::Conv3x3: n += 16; break;
      case LayerType::FullyConnected: n += 12; break;
      default: n += 4; continue;
    }
    // Encoding word, plus bits/granularity/storage/size and the u64 word count.
    n += 4 + (l.weights.encoding == WeightEncoding::Codebook ? 24 : 0);
    n += stored_weight_bytes(l);
  }
  return n;
}

}  // namespace detail

std::vector<TensorShape> validate_model(const Model& model, const std::string& source) {
  return Checker{model, source}.run();
}

}  // namespace repvk
