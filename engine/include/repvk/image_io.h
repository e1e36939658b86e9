// SPDX-License-Identifier: MIT
// Image decoding for the classify path. Decoding is done by stb_image (Debian's
// libstb), so PNG, JPEG, BMP, TGA, GIF (first frame), PSD, HDR, PIC and PNM all work.
#pragma once

#include "repvk/export.h"

#include <cstddef>
#include <cstdint>
#include <string>

#include "repvk/image.h"  // repvk::Image

namespace repvk {

struct ImageLimits {
  // Checked from the header before any pixel memory is allocated, so a hostile
  // file cannot make the decoder allocate more than kMaxDecodedBytes (plus stb's
  // temporary buffers) however large it claims to be.
  static constexpr uint32_t kMaxDimension = 16384;                     // pixels per side
  static constexpr uint64_t kMaxDecodedBytes = uint64_t(256) << 20;    // 8-bit pixels out
};

// Decodes the file at `path` into 8-bit pixels with 1 (gray), 3 (RGB) or 4 (RGBA)
// channels; gray+alpha files come back as gray. Throws repvk::Error naming the
// path and the reason (cannot open, unsupported/corrupt data, over ImageLimits).
REPVK_API Image load_image(const std::string& path);

// Same, from an encoded buffer; `source` names it in error messages.
REPVK_API Image decode_image(const uint8_t* data, size_t size, const std::string& source);

}  // namespace repvk
