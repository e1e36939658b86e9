// SPDX-License-Identifier: MIT
// Whether an image suits a model's input, and a sentence saying what the model
// expects and what pre-processing did to the image when it does not. The CLI and
// the demo both show it: a colour photo fed to a 28x28 grayscale clothing model
// still gets a label, and the user must be told that the label means little.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "repvk/model.h"

namespace repvk::tools {

struct ImageFacts {
  uint32_t width = 0, height = 0, channels = 0;
  bool colour = false;  // some pixel has R != G or G != B (see has_colour)
};

struct InputFit {
  bool fits = true;       // false: say `notice` to the user
  std::string expects;    // "this model classifies 28x28 grayscale clothing images (Fashion-MNIST, 10 classes)"
  std::string happened;   // "the 640x427 colour image was converted to gray and stretched to 28x28"
  std::string notice() const { return expects + "; " + happened; }
};

// True when an 8-bit image with 3 or 4 interleaved channels has any pixel whose
// colour channels differ (a gray picture saved as RGB is not colour).
bool has_colour(const uint8_t* pixels, uint32_t width, uint32_t height, uint32_t channels);

// An image does not fit when it is colour and the model takes one channel, or when
// either side is 4x or more larger or smaller than the model's input.
InputFit input_fit(const Model& model, const ImageFacts& image);

// "28x28 grayscale clothing images (Fashion-MNIST, 10 classes)" and the like.
std::string describe_model_input(const Model& model);

}  // namespace repvk::tools
