// SPDX-License-Identifier: MIT
// Process environment the Vulkan CPU driver (Mesa's lavapipe) reads when it loads,
// adjusted before the demo creates its Vulkan instance. docs/lavapipe.md explains both
// lavapipe problems this works around.
#pragma once

#include <string>
#include <vector>

namespace repvk::demo {

// Call before any Vulkan or GLFW call, while the process has one thread (it uses
// setenv). Only acts when LP_NATIVE_VECTOR_WIDTH is set; GPU drivers ignore what it
// changes:
//  - Mesa's on-disk shader cache moves to a directory of its own for this width
//    ($MESA_SHADER_CACHE_DIR, else $XDG_CACHE_HOME/repvk or ~/.cache/repvk, then
//    llvmpipe-<bits>-bit), since Mesa does not key the cache by width and vertex shader
//    code compiled for another width overruns a heap buffer;
//  - above 256 bits the width becomes 256, since Mesa 22.3's JIT crashes compiling any
//    draw wider than that (compute, and so `repvk`, is not affected).
// Returns a note for the user about each change they would notice (the width), one
// line each.
std::vector<std::string> apply_lavapipe_workarounds();

}  // namespace repvk::demo
