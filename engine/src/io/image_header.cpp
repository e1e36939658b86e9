// SPDX-License-Identifier: MIT
#include "io/image_header.h"

#include <cstring>

namespace repvk {
namespace {

uint32_t be16(const uint8_t* p) { return uint32_t(p[0]) << 8 | p[1]; }
uint32_t be32(const uint8_t* p) { return be16(p) << 16 | be16(p + 2); }

// PNG: 8-byte signature, then the IHDR chunk (length, "IHDR", width, height).
std::optional<ImageHeader> png_header(const uint8_t* data, size_t size) {
  static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (size < 24 || std::memcmp(data, signature, 8) != 0 || std::memcmp(data + 12, "IHDR", 4) != 0)
    return std::nullopt;
  return ImageHeader{"PNG", be32(data + 16), be32(data + 20)};
}

// JPEG: SOI, then marker segments up to the first start-of-frame (SOFn), whose
// payload is precision (1 byte), height (2), width (2).
std::optional<ImageHeader> jpeg_header(const uint8_t* data, size_t size) {
  if (size < 4 || data[0] != 0xFF || data[1] != 0xD8) return std::nullopt;
  size_t pos = 2;
  while (pos + 4 <= size) {
    if (data[pos] != 0xFF) return std::nullopt;  // not at a marker: corrupt
    const uint8_t marker = data[pos + 1];
    if (marker == 0xFF) {  // fill byte
      ++pos;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // no length field
      pos += 2;
      continue;
    }
    if (marker == 0xD9 || marker == 0xDA) return std::nullopt;  // EOI / scan before a frame
    const uint32_t length = be16(data + pos + 2);
    if (length < 2) return std::nullopt;
    const bool frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
                       marker != 0xCC;
    if (frame) {
      if (length < 7 || pos + 9 > size) return std::nullopt;
      return ImageHeader{"JPEG", be16(data + pos + 7), be16(data + pos + 5)};
    }
    pos += 2 + size_t(length);
  }
  return std::nullopt;
}

}  // namespace

std::optional<ImageHeader> read_image_header(const uint8_t* data, size_t size) {
  if (data == nullptr) return std::nullopt;
  if (auto png = png_header(data, size)) return png;
  return jpeg_header(data, size);
}

}  // namespace repvk
