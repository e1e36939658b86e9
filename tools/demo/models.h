// SPDX-License-Identifier: MIT
// Which models the number keys switch between: every .rpvk file in the model
// directory (or the files named with --model), sorted by bit width, or, when there
// are none, deterministic synthetic models at several bit widths, as the CLI does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "repvk/model.h"

namespace repvk::demo {

struct ModelEntry {
  Model model;
  std::string source;      // file path, or a description of the synthetic model
  uint32_t bits = 0;       // the width most weights are stored at; 0 = fp32 weights
  bool synthetic = false;
  bool mixed = false;      // per-layer widths chosen under a budget (model_is_mixed)
  std::string label() const;  // "4-bit", "mixed" or "fp32"
};

struct ModelSet {
  std::vector<ModelEntry> models;  // sorted by bits, fp32 last
  size_t initial = 0;              // default.rpvk when present, else the 4-bit one
  std::string note;                // non-empty when synthetic: shown on screen and stderr
};

// `files` non-empty: exactly those. Else `dir` if non-empty, else the first of
// tools::default_model_dirs() (tools/common/asset_dirs.h) holding any .rpvk file; else
// the synthetic fallback. Throws repvk::Error (ModelError) naming a file that cannot be read.
ModelSet load_models(const std::vector<std::string>& files, const std::string& dir);

uint32_t model_bits(const Model& model);
// Whether the codebook widths are mixed: the layers between the first and the last
// weighted layer do not share one width, or the first or last has a width that is
// neither theirs nor 8 (uniform models keep the first conv and the fc at 8 bits or at
// the common width; dense layers count as neither).
bool model_is_mixed(const Model& model);

}  // namespace repvk::demo
