// SPDX-License-Identifier: MIT
// Writes a captured frame as PNG, atomically: a temporary file in the same
// directory, fsynced and renamed over the target (repvk/util/atomic_file.h), so a
// reader never sees half a file.
#pragma once

#include <string>

#include "renderer.h"  // Capture

namespace repvk::demo {

// Throws repvk::Error naming the path on failure.
void write_png_atomic(const std::string& path, const Capture& capture);

}  // namespace repvk::demo
