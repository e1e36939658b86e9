// SPDX-License-Identifier: MIT
// Reads an image's dimensions from its PNG or JPEG header without decoding it, so
// that a file claiming an absurd size is rejected with its real size in the message.
// stb_image's own header check cannot be used for that: for a PNG over 1 GiB it
// fails every format in turn and reports "unknown image type".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace repvk {

struct ImageHeader {
  const char* format = "";  // "PNG" or "JPEG"
  uint32_t width = 0, height = 0;
};

// nullopt when `data` is neither a PNG nor a JPEG with a frame header in `size` bytes.
std::optional<ImageHeader> read_image_header(const uint8_t* data, size_t size);

}  // namespace repvk
