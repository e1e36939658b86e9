// SPDX-License-Identifier: MIT
#include "asset_dirs.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace fs = std::filesystem;

namespace repvk::tools {

std::vector<std::string> asset_dirs(const char* env_var, const char* kind) {
  std::vector<std::string> dirs;
  // A search path of the tools, not an engine option (see repvk/environment.h).
  if (const char* env = std::getenv(env_var); env && *env) dirs.emplace_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back((exe.parent_path() / ".." / "share" / "repvk" / kind).string());
  const std::string src = REPVK_SOURCE_DIR;
  if (!src.empty()) dirs.push_back((fs::path(src) / "assets" / kind).string());
  return dirs;
}

std::vector<std::string> default_model_dirs() { return asset_dirs("REPVK_MODEL_DIR", "models"); }

}  // namespace repvk::tools
