// SPDX-License-Identifier: MIT
// Image -> model input tensor (resize or shorter side + centre crop, bilinear; channel
// mapping; mean/std), and top-k selection over class probabilities.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "io/resize_geometry.h"
#include "repvk/error.h"
#include "repvk/image_io.h"
#include "repvk/image.h"

namespace repvk {
namespace {

// BT.601 luma, the weighting most gray-scale training data was produced with.
constexpr float kLumaR = 0.299f, kLumaG = 0.587f, kLumaB = 0.114f;

// Reads model channel `c` of one source pixel as a value in [0,1].
// Model channel layout: 1 = gray; 2 = gray, alpha; 3 = RGB; 4 = RGB, alpha.
// Alpha is used only when the model asks for it (else dropped); a missing alpha
// reads as opaque.
struct PixelReader {
  const uint8_t* pixels;
  uint32_t width, src_channels, dst_channels;

  float operator()(uint32_t x, uint32_t y, uint32_t c) const {
    const uint8_t* p = pixels + (size_t(y) * width + x) * src_channels;
    const bool src_color = src_channels >= 3;
    const bool dst_color = dst_channels >= 3;
    const uint32_t dst_color_channels = dst_color ? 3 : 1;
    if (c >= dst_color_channels) {  // alpha slot of the model
      const bool src_alpha = src_channels == 2 || src_channels == 4;
      return src_alpha ? float(p[src_channels - 1]) / 255.0f : 1.0f;
    }
    if (!src_color) return float(p[0]) / 255.0f;   // gray (replicated for RGB models)
    if (dst_color) return float(p[c]) / 255.0f;     // RGB -> RGB
    return (kLumaR * float(p[0]) + kLumaG * float(p[1]) + kLumaB * float(p[2])) / 255.0f;
  }
};

// Source coordinate of each destination column/row for bilinear sampling with
// half-pixel centres (the convention of PIL, OpenCV INTER_LINEAR and
// torchvision with align_corners=False), clamped at the borders.
struct Taps {
  std::vector<uint32_t> i0, i1;
  std::vector<float> w1;  // weight of i1; i0 gets 1 - w1
};

// `coordinate(d)` is ResizeGeometry::source_x or source_y: resize and centre crop in
// one step, without an intermediate resized image.
template <typename Coordinate>
Taps make_taps(uint32_t src, uint32_t dst, Coordinate coordinate) {
  Taps t;
  t.i0.resize(dst);
  t.i1.resize(dst);
  t.w1.resize(dst);
  for (uint32_t d = 0; d < dst; ++d) {
    const double s = std::clamp(coordinate(d), 0.0, double(src - 1));
    const uint32_t lo = uint32_t(s);
    t.i0[d] = lo;
    t.i1[d] = std::min(lo + 1, src - 1);
    t.w1[d] = float(s - double(lo));
  }
  return t;
}

}  // namespace

std::vector<float> preprocess(const Image& image, const InputSpec& input) {
  if (image.width == 0 || image.height == 0)
    throw Error("preprocess: empty image (" + std::to_string(image.width) + "x" +
                std::to_string(image.height) + ")");
  if (image.width > ImageLimits::kMaxDimension || image.height > ImageLimits::kMaxDimension)
    throw InvalidArgument("preprocess: image is " + std::to_string(image.width) + "x" +
                          std::to_string(image.height) + " pixels; the limit is " +
                          std::to_string(ImageLimits::kMaxDimension) + " per side");
  if (image.channels < 1 || image.channels > 4)
    throw Error("preprocess: unsupported image channel count " +
                std::to_string(image.channels));
  const size_t expected = size_t(image.width) * image.height * image.channels;
  if (image.pixels.size() != expected)
    throw Error("preprocess: image has " + std::to_string(image.pixels.size()) +
                " bytes, expected " + std::to_string(expected) + " for " +
                std::to_string(image.width) + "x" + std::to_string(image.height) + "x" +
                std::to_string(image.channels));
  const uint32_t C = input.channels, H = input.height, W = input.width;
  if (C < 1 || C > 4 || H == 0 || W == 0)
    throw Error("preprocess: unsupported model input " + std::to_string(C) + "x" +
                std::to_string(H) + "x" + std::to_string(W));
  if ((!input.mean.empty() && input.mean.size() != C) ||
      (!input.std.empty() && input.std.size() != C))
    throw Error("preprocess: model input has " + std::to_string(C) +
                " channels but mean/std have " + std::to_string(input.mean.size()) + "/" +
                std::to_string(input.std.size()) + " values");
  for (float s : input.std)
    if (!(s > 0.0f) || !std::isfinite(s))
      throw Error("preprocess: model input std must be positive and finite");

  if (input.resize != InputResize::Stretch &&
      (input.resize != InputResize::ShorterSideCrop ||
       input.resize_shorter < std::max(H, W) || input.resize_shorter > ModelLimits::kMaxSpatial))
    throw Error("preprocess: invalid model input resize (mode " +
                std::to_string(uint32_t(input.resize)) + ", shorter side " +
                std::to_string(input.resize_shorter) + ")");

  const ResizeGeometry geo = resize_geometry(image.width, image.height, input);
  const Taps tx = make_taps(image.width, W, [&](uint32_t d) { return geo.source_x(d); });
  const Taps ty = make_taps(image.height, H, [&](uint32_t d) { return geo.source_y(d); });
  const PixelReader px{image.pixels.data(), image.width, image.channels, C};

  std::vector<float> out(size_t(C) * H * W);
  for (uint32_t c = 0; c < C; ++c) {
    const float mean = input.mean.empty() ? 0.0f : input.mean[c];
    const float sd = input.std.empty() ? 1.0f : input.std[c];
    float* plane = out.data() + size_t(c) * H * W;
    for (uint32_t y = 0; y < H; ++y) {
      const uint32_t y0 = ty.i0[y], y1 = ty.i1[y];
      const float wy = ty.w1[y];
      for (uint32_t x = 0; x < W; ++x) {
        const uint32_t x0 = tx.i0[x], x1 = tx.i1[x];
        const float wx = tx.w1[x];
        // With zero weights this reduces to exactly px(x0, y0, c), so a same-size
        // input is bit-identical to (p/255 - mean)/std.
        const float top = (1.0f - wx) * px(x0, y0, c) + wx * px(x1, y0, c);
        const float bottom = (1.0f - wx) * px(x0, y1, c) + wx * px(x1, y1, c);
        const float v = (1.0f - wy) * top + wy * bottom;
        plane[size_t(y) * W + x] = (v - mean) / sd;
      }
    }
  }
  return out;
}

std::vector<Prediction> top_k(const float* probabilities, uint32_t num_classes, uint32_t k) {
  if (probabilities == nullptr || num_classes == 0 || k == 0) return {};
  k = std::min(k, num_classes);
  // NaN would break the strict weak ordering; rank it below everything.
  auto key = [&](uint32_t i) {
    const float p = probabilities[i];
    return std::isnan(p) ? -std::numeric_limits<float>::infinity() : p;
  };
  std::vector<uint32_t> order(num_classes);
  std::iota(order.begin(), order.end(), 0u);
  // Ties go to the lower label so the output is deterministic across runs.
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](uint32_t a, uint32_t b) {
                      const float ka = key(a), kb = key(b);
                      return ka > kb || (ka == kb && a < b);
                    });
  std::vector<Prediction> result(k);
  for (uint32_t i = 0; i < k; ++i) result[i] = {order[i], probabilities[order[i]]};
  return result;
}

}  // namespace repvk
