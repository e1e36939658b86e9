// SPDX-License-Identifier: MIT
// RepVGG network configuration: presets, flags and validation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oabn.h"

namespace repvk::train {

struct ModelConfig {
  std::string preset = "small";
  int64_t in_channels = 1, height = 28, width = 28, num_classes = 10;
  // Five stages as in RepVGG. Stage widths are base_widths scaled by the width
  // multipliers: stage 0 min(base0, base0·a), stages 1-3 base·a, stage 4 base·b.
  std::vector<int64_t> depths;
  std::vector<int64_t> base_widths;
  double width_a = 1.0, width_b = 1.0;
  std::vector<int64_t> strides;  // of each stage's first block; strides[0] is the first-stage stride
  NormKind norm = NormKind::Oabn;
  OabnParams oabn;

  std::vector<int64_t> widths() const;
  // Human-readable one-liner for logs.
  std::string describe() const;
};

// "small" (1x28x28 or 1x32x32 / 3x32x32, sized for 2-core CPU training),
// "A0" (3x224x224, 1000 classes, as in the RepVGG paper),
// "A0-32" (A0 with first-stage stride 1 for 3x32x32 inputs, 10 classes).
ModelConfig model_preset(const std::string& name);
std::vector<std::string> model_preset_names();

nlohmann::json config_to_json(const ModelConfig& c);
ModelConfig config_from_json(const nlohmann::json& j);

// Throws TrainError naming the offending setting.
void validate_config(const ModelConfig& c);

}  // namespace repvk::train
