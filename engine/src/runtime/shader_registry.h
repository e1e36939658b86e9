// SPDX-License-Identifier: MIT
// Name -> SPIR-V lookup over the shaders compiled and embedded at build time
// (see shaders/CMakeLists.txt). Names are "<op>" or "<op>_<variant>", e.g. "conv3x3_f16".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace repvk {

struct ShaderBlob {
  const char* name;
  const uint32_t* words;
  size_t word_count;
};

// Returns nullptr when no shader has that name.
const ShaderBlob* find_shader(std::string_view name);
// All embedded shaders: `count` receives how many.
const ShaderBlob* all_shaders(size_t* count);

}  // namespace repvk
