// SPDX-License-Identifier: MIT
#include "input_fit.h"

#include <algorithm>

#include "idx.h"

namespace repvk::tools {
namespace {

bool is_fashion_mnist(const Model& m) {
  return m.input.channels == 1 && m.class_names == fashion_mnist_class_names();
}

std::string size_string(uint32_t w, uint32_t h) {
  return std::to_string(w) + "x" + std::to_string(h);
}

// How far one side is from the model's: 4 means 4x larger or 4x smaller.
double side_ratio(uint32_t got, uint32_t want) {
  if (got == 0 || want == 0) return 0;
  return std::max(double(got) / want, double(want) / got);
}

}  // namespace

bool has_colour(const uint8_t* pixels, uint32_t width, uint32_t height, uint32_t channels) {
  if (channels < 3 || pixels == nullptr) return false;
  const size_t n = size_t(width) * height;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = pixels + i * channels;
    if (p[0] != p[1] || p[1] != p[2]) return true;
  }
  return false;
}

std::string describe_model_input(const Model& m) {
  const InputSpec& in = m.input;
  const std::string kind = in.channels == 1 ? "grayscale" : in.channels == 3 ? "colour" :
                           std::to_string(in.channels) + "-channel";
  std::string s = size_string(in.width, in.height) + " " + kind;
  if (is_fashion_mnist(m)) return s + " clothing images (Fashion-MNIST, 10 classes)";
  s += " images into " + std::to_string(m.num_classes()) + " classes";
  if (!m.class_names.empty()) {
    s += " (" + m.class_names.front();
    if (m.class_names.size() > 1) s += ", " + m.class_names[1];
    if (m.class_names.size() > 2) s += ", ...";
    s += ")";
  }
  return s;
}

InputFit input_fit(const Model& m, const ImageFacts& img) {
  const InputSpec& in = m.input;
  InputFit f;
  const bool colour_lost = img.colour && in.channels == 1;
  const bool far = side_ratio(img.width, in.width) >= 4 || side_ratio(img.height, in.height) >= 4;
  f.fits = !colour_lost && !far;
  f.expects = "this model classifies " + describe_model_input(m);
  std::string what = img.colour ? "colour" : img.channels == 1 ? "grayscale" : "gray";
  f.happened = "the " + size_string(img.width, img.height) + " " + what + " image was ";
  if (colour_lost) f.happened += "converted to gray and ";
  if (in.resize == InputResize::ShorterSideCrop) {
    f.happened += "resized (shorter side " + std::to_string(in.resize_shorter) +
                  ") and centre-cropped to " + size_string(in.width, in.height);
  } else {
    // Same aspect ratio within 2%: "resized"; otherwise the picture is distorted.
    const double a = double(img.width) * in.height, b = double(img.height) * in.width;
    f.happened += (std::max(a, b) <= 1.02 * std::min(a, b) ? "resized to " : "stretched to ") +
                  size_string(in.width, in.height);
  }
  return f;
}

}  // namespace repvk::tools
