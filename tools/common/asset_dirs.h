// SPDX-License-Identifier: MIT
// Where the tools look for bundled assets (models, sample images): one search order
// for the CLI and the demo.
#pragma once

#include <string>
#include <vector>

namespace repvk::tools {

// The directories that may hold the bundled `kind` ("models", "samples"), in order:
// $<env_var> when set and non-empty, <exe>/../share/repvk/<kind> (an installed tree),
// <source>/assets/<kind> (a build tree). Existence is not checked.
std::vector<std::string> asset_dirs(const char* env_var, const char* kind);

// asset_dirs("REPVK_MODEL_DIR", "models").
std::vector<std::string> default_model_dirs();

}  // namespace repvk::tools
