// SPDX-License-Identifier: MIT
// Images on the host: an 8-bit decoded image, its preprocessing into a model's input,
// and the top-k reading of a probability vector. Vulkan-free; the decoders are in
// repvk/image_io.h, the GPU path (a VkImage) in repvk/image_input.h.
// Thread-safety: every function here is pure. Errors: repvk::Error.
#pragma once

#include <cstdint>
#include <vector>

#include "repvk/export.h"
#include "repvk/model.h"

namespace repvk {

// An 8-bit image as decoded from a file: interleaved, 1 (gray), 3 (RGB) or 4 (RGBA) channels.
struct Image {
  uint32_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

// Resizes (bilinear), converts gray/RGB to the model's channel count and normalizes
// with the model's mean/std; returns CHW floats of size input.channels*height*width.
REPVK_API std::vector<float> preprocess(const Image& image, const InputSpec& input);

struct Prediction {
  uint32_t label = 0;
  float probability = 0;
};
// Top-k labels of one probability vector, highest first.
REPVK_API std::vector<Prediction> top_k(const float* probabilities, uint32_t num_classes,
                                        uint32_t k);

}  // namespace repvk
