// SPDX-License-Identifier: MIT
// Where each model input pixel samples the source image: InputSpec's resize mode
// (stretch, or shorter side + centre crop) turned into a scale and an offset per axis.
// Shared by repvk::preprocess (host) and shaders/preprocess_image.comp (GPU) so the
// two sample the same points.
#pragma once

#include <cstdint>

#include "repvk/model.h"

namespace repvk {

struct ResizeGeometry {
  uint32_t resized_w = 0, resized_h = 0;  // the image size after resizing, before the crop
  uint32_t crop_x = 0, crop_y = 0;        // top-left of the model's W x H in the resized image
  double scale_x = 1, scale_y = 1;        // source pixels per resized pixel

  // Source coordinate that output pixel d (0-based, in the crop) samples along x:
  // bilinear with half-pixel centres, as cv2.resize INTER_LINEAR; the caller clamps.
  double source_x(uint32_t d) const { return (double(d) + crop_x + 0.5) * scale_x - 0.5; }
  double source_y(uint32_t d) const { return (double(d) + crop_y + 0.5) * scale_y - 0.5; }
};

// `src_w` x `src_h`: the image (or region) size, both >= 1. The input spec is validated.
// ShorterSideCrop follows torchvision's Resize(R) + CenterCrop((H, W)) in size: the
// shorter side becomes R, the longer floor(R * long / short); the crop starts at
// floor((resized - crop) / 2).
inline ResizeGeometry resize_geometry(uint32_t src_w, uint32_t src_h, const InputSpec& in) {
  ResizeGeometry g;
  if (in.resize == InputResize::ShorterSideCrop) {
    const uint64_t r = in.resize_shorter;
    if (src_w <= src_h) {
      g.resized_w = uint32_t(r);
      g.resized_h = uint32_t(r * src_h / src_w);
    } else {
      g.resized_h = uint32_t(r);
      g.resized_w = uint32_t(r * src_w / src_h);
    }
    g.crop_x = (g.resized_w - in.width) / 2;
    g.crop_y = (g.resized_h - in.height) / 2;
  } else {
    g.resized_w = in.width;
    g.resized_h = in.height;
  }
  g.scale_x = double(src_w) / double(g.resized_w);
  g.scale_y = double(src_h) / double(g.resized_h);
  return g;
}

}  // namespace repvk
