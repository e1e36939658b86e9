// SPDX-License-Identifier: MIT
// The repvk model file format: in-memory representation, reader and writer.
// This is the only implementation of the format (see docs/model-format.md).
// It has no Vulkan dependency: the trainer links it to export, the engine to load.
#pragma once

#include "repvk/base_error.h"
#include "repvk/export.h"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace repvk {

enum class LayerType : uint32_t;

// Raised for any malformed or unsupported model file. what() names the file,
// the layer (when one is involved) and the problem. A repvk::Error like every other
// exception repvk throws.
class REPVK_API ModelError : public Error {
 public:
  ModelError(const std::string& source, int layer, const std::string& problem);
  // Same, with the layer's type in what(): "m.rpvk: layer 3 (conv3x3): bits 9 outside 1..8".
  ModelError(const std::string& source, int layer, LayerType type, const std::string& problem);
  const std::string& source() const { return source_; }
  int layer() const { return layer_; }  // -1 when no layer is involved
  const std::string& problem() const { return problem_; }

 private:
  std::string source_;
  int layer_;
  std::string problem_;
};

inline constexpr uint32_t kModelMagic = 0x4B565052u;  // bytes "RPVK"
inline constexpr uint32_t kModelVersion = 1;

// Documented limits. A file beyond them is rejected before any allocation.
struct ModelLimits {
  static constexpr uint64_t kMaxFileBytes = 1ull << 30;   // 1 GiB
  static constexpr uint32_t kMaxChannels = 4096;          // any conv/fc width, input channels
  static constexpr uint32_t kMaxSpatial = 4096;           // input height/width
  static constexpr uint32_t kMaxInputChannels = 4;
  static constexpr uint32_t kMaxClasses = 100000;
  static constexpr uint32_t kMaxLayers = 1024;
  static constexpr uint32_t kMaxNameBytes = 256;          // model and class names
  static constexpr uint64_t kMaxLayerWeights = 1ull << 28;  // elements per weighted layer
};

// Every layer kind: X(enumerator, type code in the file, name). Each kind is described
// once, in engine/model/layers/<name>.cpp (fields, validation, shape) and
// engine/src/ops/<name>.cpp (CPU reference, GPU op); see engine/src/ops/README.md.
#define REPVK_LAYER_KINDS(X)                \
  X(Conv3x3, 1, conv3x3)                    \
  X(GlobalAvgPool, 2, global_avg_pool)      \
  X(FullyConnected, 3, fully_connected)     \
  X(Softmax, 4, softmax)

enum class LayerType : uint32_t {
#define REPVK_LAYER_TYPE_ENUMERATOR(Name, code, lower) Name = code,
  REPVK_LAYER_KINDS(REPVK_LAYER_TYPE_ENUMERATOR)
#undef REPVK_LAYER_TYPE_ENUMERATOR
};

enum class WeightEncoding : uint32_t {
  Fp32 = 0,      // dense fp32 weights (stored as fp32 or fp16, see Weights::dense_storage)
  Codebook = 1,  // b-bit indices into k-means codebooks
};

enum class CodebookGranularity : uint32_t {
  PerLayer = 0,         // one codebook for the whole layer
  PerOutputChannel = 1, // one codebook per output channel
};

// How float values are stored in the file. In memory they are always fp32; fp16
// values are widened on load and rounded (to nearest even) when written.
enum class ValueStorage : uint32_t {
  Fp32 = 0,
  Fp16 = 1,  // stored as IEEE half; widened to fp32 on load
};

// Weights of one layer, logically [out][in][ky][kx] for conv (k = in*9 + ky*3 + kx)
// and [out][in] for fc. "row" below means the weights of one output channel.
struct Weights {
  WeightEncoding encoding = WeightEncoding::Fp32;

  // Fp32: out * row_length values.
  std::vector<float> dense;
  // Fp32 only: how `dense` is stored in the file. With Fp16 the file holds halves
  // (weight encoding 2) and `dense` holds them widened, so consumers see plain fp32.
  // The writer rounds; keep `dense` fp16-representable for the two to agree.
  ValueStorage dense_storage = ValueStorage::Fp32;

  // Codebook:
  uint32_t bits = 0;                 // 1..8
  CodebookGranularity granularity = CodebookGranularity::PerLayer;
  ValueStorage codebook_storage = ValueStorage::Fp32;
  uint32_t codebook_size = 0;        // entries per codebook, 1..2^bits
  std::vector<float> codebooks;      // groups * codebook_size values (groups = 1 or out)
  std::vector<uint32_t> packed;      // out * words_per_row(row_length, bits) words
};

struct Layer {
  LayerType type = LayerType::Conv3x3;
  uint32_t in_channels = 0;   // conv: input channels; fc: input features
  uint32_t out_channels = 0;  // conv: output channels; fc: output features
  uint32_t stride = 1;        // conv only: 1 or 2
  bool relu = false;          // conv and fc
  Weights weights;            // conv and fc
  std::vector<float> bias;    // conv and fc: out_channels values

  // Whether the kind carries channels, weights and a bias (conv3x3, fully_connected).
  REPVK_API bool has_weights() const;
  // Number of weights in one output channel's row.
  REPVK_API uint64_t row_length() const;
};

// How an image of any size becomes the model's height x width before normalization.
// Both resample bilinearly with half-pixel centres (cv2.resize INTER_LINEAR, no
// antialiasing); see docs/model-format.md, "Input".
enum class InputResize : uint32_t {
  Stretch = 0,           // the whole image (or region) to height x width; aspect not kept
  ShorterSideCrop = 1,   // shorter side to resize_shorter (aspect kept), centre height x width
};

struct InputSpec {
  uint32_t channels = 1;
  uint32_t height = 28;
  uint32_t width = 28;
  std::vector<float> mean;  // per channel, applied to pixel values scaled to [0,1]
  std::vector<float> std;   // per channel
  InputResize resize = InputResize::Stretch;
  // ShorterSideCrop: the shorter side's length after resizing, max(height, width)..
  // ModelLimits::kMaxSpatial (e.g. 256 for a 224x224 model). Stretch: 0.
  uint32_t resize_shorter = 0;
};

struct Model {
  std::string name;
  InputSpec input;
  std::vector<std::string> class_names;
  std::vector<Layer> layers;

  uint32_t num_classes() const { return static_cast<uint32_t>(class_names.size()); }
};

// Shape of the activation after each layer, as planned from the input spec.
struct TensorShape {
  uint32_t c = 0, h = 0, w = 0;
  uint64_t elements() const { return uint64_t(c) * h * w; }
};

// ---- Index packing -------------------------------------------------------------
// Indices are packed LSB-first, floor(32/bits) per 32-bit word, never straddling a
// word, and each output row starts on a fresh word. A shader reads index i of a row
// as bitfieldExtract(word[row_base + i / per_word], (i % per_word) * bits, bits).
REPVK_API uint32_t indices_per_word(uint32_t bits);
REPVK_API uint64_t words_per_row(uint64_t row_length, uint32_t bits);
// Packs `rows` rows of `row_length` indices each (all < 2^bits).
REPVK_API std::vector<uint32_t> pack_indices(const std::vector<uint32_t>& indices,
                                             uint64_t rows, uint64_t row_length, uint32_t bits);
REPVK_API std::vector<uint32_t> unpack_indices(const std::vector<uint32_t>& packed,
                                               uint64_t rows, uint64_t row_length, uint32_t bits);

// Dense fp32 weights of a layer (decodes codebook layers).
REPVK_API std::vector<float> decode_weights(const Layer& layer);

// Validates the whole model (limits, chaining, shapes, index ranges, sizes).
// Returns the activation shape after each layer. Throws ModelError naming `source`.
REPVK_API std::vector<TensorShape> validate_model(const Model& model, const std::string& source);

// ---- I/O ---------------------------------------------------------------------
REPVK_API Model read_model(const std::string& path);
REPVK_API Model parse_model(const uint8_t* data, size_t size, const std::string& source);
REPVK_API std::vector<uint8_t> serialize_model(const Model& model);
// Validates, serializes, writes to a temp file in the same folder, then renames.
REPVK_API void write_model(const Model& model, const std::string& path);

REPVK_API uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc = 0);

// IEEE binary16 conversions (round to nearest even), used for fp16 weights, fp16
// codebooks and fp16 activations alike so every component rounds the same way.
REPVK_API uint16_t float_to_half(float f);
REPVK_API float half_to_float(uint16_t h);

// ---- Statistics for `repvk info` ---------------------------------------------------
struct LayerStats {
  uint64_t flops = 0;          // 2 * MACs per image
  uint64_t weight_bytes = 0;   // as stored in the file (weights or indices + codebooks, bias)
  uint64_t fp32_bytes = 0;     // the same layer with fp32 weights
};
REPVK_API std::vector<LayerStats> model_stats(const Model& model);

// "conv3x3", "global_avg_pool", ...; "unknown" for a type no kind has.
REPVK_API const char* layer_type_name(LayerType t);
// Whether the kind's output activation is stored as half when a network runs at fp16
// precision (conv3x3); every other kind writes fp32 in every mode. Networks and
// benchmarks apply it through repvk::activation_element_bytes (repvk/network.h).
REPVK_API bool layer_output_can_be_half(LayerType t);

}  // namespace repvk
