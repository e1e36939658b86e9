// A loaded model bound to a Device: weights uploaded once, pipelines created once,
// activations in a reused arena, the whole graph recorded into one command buffer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <vulkan/vulkan.h>

#include "repvk/device.h"
#include "repvk/model.h"

namespace repvk {

enum class Precision {
  Auto,  // fp16 activations only where the device has them and measured faster
  Fp32,  // Vulkan 1.1 core only; always available
  Fp16,  // fp16 activation storage, fp32 accumulation; throws if unsupported
};
const char* precision_name(Precision p);

// The conv3x3 kernel. Direct is the first correct version (shaders/conv3x3.comp), kept
// as the baseline that speedups are measured against; Tiled is the register-blocked
// kernel (shaders/conv3x3_tiled.comp). Auto takes $REPVK_CONV (direct|tiled) when set,
// else Tiled, which measured faster on every layer (docs/benchmarks.md, "Kernel log").
enum class ConvAlgorithm { Auto, Direct, Tiled };
const char* conv_algorithm_name(ConvAlgorithm a);
// "auto", "direct", "tiled"; throws repvk::Error on anything else.
ConvAlgorithm parse_conv_algorithm(const std::string& name);

struct NetworkOptions {
  Precision precision = Precision::Auto;
  ConvAlgorithm conv_algorithm = ConvAlgorithm::Auto;
  uint32_t max_batch = 16;           // images per recorded command buffer (chunk)
  // Caps the work in one submission: APU drivers kill jobs after ~2 s, so a large
  // batch of a heavy model is split further. 0 = no cap beyond max_batch.
  double max_submit_gflop = 16.0;
  bool timestamps = true;            // per-layer GPU timing when the device supports it
  // Pipeline cache file. "" = default ($XDG_CACHE_HOME or ~/.cache)/repvk/pipelines-<device>.bin;
  // "none" disables persistence.
  std::string pipeline_cache_path;
};

struct LayerTiming {
  std::string name;   // e.g. "conv3x3 #3 (64->128, s2)"
  double gpu_ms = 0;  // summed over the chunks of the last run
};

// An 8-bit image as decoded from a file: interleaved, 1 (gray), 3 (RGB) or 4 (RGBA) channels.
struct Image {
  uint32_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

// Resizes (bilinear), converts gray/RGB to the model's channel count and normalizes
// with the model's mean/std; returns CHW floats of size input.channels*height*width.
std::vector<float> preprocess(const Image& image, const InputSpec& input);

struct Prediction {
  uint32_t label = 0;
  float probability = 0;
};
// Top-k labels of one probability vector, highest first.
std::vector<Prediction> top_k(const float* probabilities, uint32_t num_classes, uint32_t k);

class Network {
 public:
  Network(Device& device, const Model& model, const NetworkOptions& options = {});
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  const Model& model() const;
  Precision precision() const;  // resolved: never Auto
  ConvAlgorithm conv_algorithm() const;  // resolved: never Auto
  uint32_t num_classes() const;
  uint32_t input_size() const;  // floats per image (C*H*W)

  // N preprocessed images (NCHW, input_size() floats each) in, N*num_classes
  // probabilities out. Batches beyond max_batch are split into several submissions.
  std::vector<float> infer(const float* input, uint32_t batch);
  // Same, but returns the output of the last layer before softmax (logits).
  std::vector<float> infer_logits(const float* input, uint32_t batch);
  // Single image convenience: decode-free path from an Image.
  std::vector<float> classify(const Image& image);

  // Per-layer GPU times of the last infer() call; empty without timestamp support.
  std::vector<LayerTiming> last_timings() const;
  double last_gpu_ms() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace repvk
