// SPDX-License-Identifier: MIT
#include "screenshot.h"

#include <string>

#include <stb/stb_image_write.h>

#include "repvk/error.h"
#include "repvk/util/atomic_file.h"

namespace repvk::demo {
namespace {

void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
}

}  // namespace

void write_png_atomic(const std::string& path, const Capture& c) {
  if (c.width == 0 || c.height == 0) throw Error("no frame was captured for '" + path + "'");
  std::string png;
  if (!stbi_write_png_to_func(append_bytes, &png, int(c.width), int(c.height), 4, c.rgba.data(),
                              int(c.width * 4)))
    throw Error("cannot encode the screenshot '" + path + "'");
  try {
    write_file_atomically(path, png);
  } catch (const FileWriteError& e) {
    throw Error("cannot write the screenshot " + std::string(e.what()));
  }
}

}  // namespace repvk::demo
