// SPDX-License-Identifier: MIT
#include "driver_workarounds.h"

#include <strings.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace fs = std::filesystem;

namespace repvk::demo {

namespace {

// The widest lavapipe SIMD width at which Mesa 22.3.6 (LLVM 15) still compiles draws:
// at 512 even a triangle without varyings crashes in LLVM while lavapipe builds the
// vertex stage (vkcube too).
constexpr unsigned long kMaxDrawBits = 256;

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

// As Mesa's env_var_as_boolean reads MESA_SHADER_CACHE_DISABLE.
bool env_true(const char* name) {
  const char* v = env(name);
  return v && (std::strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
               strcasecmp(v, "yes") == 0);
}

void disable_shader_cache() { setenv("MESA_SHADER_CACHE_DISABLE", "true", 1); }

// Where Mesa would put its cache, plus a folder for this width: the cache then only
// ever holds code compiled at that width.
void key_shader_cache_by_width(const std::string& bits) {
  fs::path base;
  if (const char* dir = env("MESA_SHADER_CACHE_DIR"))
    base = dir;
  else if (const char* old_name = env("MESA_GLSL_CACHE_DIR"))
    base = old_name;
  else if (const char* xdg = env("XDG_CACHE_HOME"))
    base = fs::path(xdg) / "repvk";
  else if (const char* home = env("HOME"))
    base = fs::path(home) / ".cache" / "repvk";
  else
    return disable_shader_cache();
  const fs::path dir = base / ("llvmpipe-" + bits + "-bit");
  std::error_code ec;
  fs::create_directories(dir, ec);  // Mesa creates only the last level itself
  if (ec) return disable_shader_cache();
  setenv("MESA_SHADER_CACHE_DIR", dir.c_str(), 1);
}

}  // namespace

std::vector<std::string> apply_lavapipe_workarounds() {
  std::vector<std::string> notes;
  const char* set = env("LP_NATIVE_VECTOR_WIDTH");
  if (!set) return notes;
  const std::string value = set;  // setenv below may free getenv's string
  errno = 0;
  char* end = nullptr;
  const unsigned long bits = std::strtoul(value.c_str(), &end, 10);
  const bool numeric = end != value.c_str() && *end == '\0' && errno == 0;
  std::string width = value;
  if (numeric && bits > kMaxDrawBits) {
    width = std::to_string(kMaxDrawBits);
    setenv("LP_NATIVE_VECTOR_WIDTH", width.c_str(), 1);
    notes.push_back("LP_NATIVE_VECTOR_WIDTH=" + value + " lowered to " + width +
                    ": lavapipe (Mesa 22.3) crashes compiling draws wider than " + width +
                    " bits; `repvk` runs compute at any width");
  }
  if (env_true("MESA_SHADER_CACHE_DISABLE")) return notes;
  if (!numeric) {
    disable_shader_cache();  // no width to key it by
    return notes;
  }
  key_shader_cache_by_width(width);
  return notes;
}

}  // namespace repvk::demo
