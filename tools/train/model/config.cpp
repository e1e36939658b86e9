// SPDX-License-Identifier: MIT
#include "model/config.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace repvk::train {

std::vector<int64_t> ModelConfig::widths() const {
  std::vector<int64_t> w;
  for (size_t i = 0; i < base_widths.size(); ++i) {
    const double m = i + 1 == base_widths.size() ? width_b : width_a;
    int64_t v = int64_t(std::lround(double(base_widths[i]) * m));
    if (i == 0) v = std::min(base_widths[0], v);  // RepVGG caps the stem width
    w.push_back(v);
  }
  return w;
}

std::string ModelConfig::describe() const {
  std::ostringstream s;
  auto list = [&](const std::vector<int64_t>& v) {
    for (size_t i = 0; i < v.size(); ++i) s << (i ? "," : "") << v[i];
  };
  s << "preset " << preset << ", input " << in_channels << "x" << height << "x" << width
    << ", classes " << num_classes << ", depths ";
  list(depths);
  s << ", widths ";
  list(widths());
  s << ", strides ";
  list(strides);
  s << ", norm " << (norm == NormKind::Oabn ? "oabn" : "bn");
  if (norm == NormKind::Oabn)
    s << " (kappa " << oabn.kappa << ", lambda_1x1 " << oabn.lambda_1x1 << ", lambda_id "
      << oabn.lambda_id << ")";
  return s.str();
}

std::vector<std::string> model_preset_names() { return {"small", "A0", "A0-32"}; }

ModelConfig model_preset(const std::string& name) {
  ModelConfig c;
  c.preset = name;
  if (name == "small") {
    c.depths = {1, 2, 2, 2, 1};
    c.base_widths = {16, 32, 64, 128, 256};
    c.strides = {1, 2, 2, 2, 1};
    return c;
  }
  if (name == "A0" || name == "A0-32") {
    c.depths = {1, 2, 4, 14, 1};
    c.base_widths = {64, 64, 128, 256, 512};
    c.width_a = 0.75;
    c.width_b = 2.5;
    c.in_channels = 3;
    if (name == "A0") {
      c.height = c.width = 224;
      c.num_classes = 1000;
      c.strides = {2, 2, 2, 2, 2};
    } else {
      c.height = c.width = 32;
      c.strides = {1, 2, 2, 2, 2};
    }
    return c;
  }
  std::string known;
  for (const auto& n : model_preset_names()) known += (known.empty() ? "" : ", ") + n;
  throw TrainError("--preset '" + name + "' unknown (known: " + known + ")");
}

nlohmann::json config_to_json(const ModelConfig& c) {
  return {{"preset", c.preset},
          {"in_channels", c.in_channels},
          {"height", c.height},
          {"width", c.width},
          {"num_classes", c.num_classes},
          {"depths", c.depths},
          {"base_widths", c.base_widths},
          {"width_a", c.width_a},
          {"width_b", c.width_b},
          {"strides", c.strides},
          {"norm", c.norm == NormKind::Oabn ? "oabn" : "bn"},
          {"oabn_kappa", c.oabn.kappa},
          {"oabn_lambda_1x1", c.oabn.lambda_1x1},
          {"oabn_lambda_id", c.oabn.lambda_id}};
}

ModelConfig config_from_json(const nlohmann::json& j) {
  ModelConfig c;
  try {
    c.preset = j.at("preset");
    c.in_channels = j.at("in_channels");
    c.height = j.at("height");
    c.width = j.at("width");
    c.num_classes = j.at("num_classes");
    c.depths = j.at("depths").get<std::vector<int64_t>>();
    c.base_widths = j.at("base_widths").get<std::vector<int64_t>>();
    c.width_a = j.at("width_a");
    c.width_b = j.at("width_b");
    c.strides = j.at("strides").get<std::vector<int64_t>>();
    c.norm = j.at("norm") == "oabn" ? NormKind::Oabn : NormKind::Bn;
    c.oabn.kappa = j.at("oabn_kappa");
    c.oabn.lambda_1x1 = j.at("oabn_lambda_1x1");
    c.oabn.lambda_id = j.at("oabn_lambda_id");
  } catch (const nlohmann::json::exception& e) {
    throw TrainError(std::string("checkpoint model config is incomplete: ") + e.what());
  }
  return c;
}

void validate_config(const ModelConfig& c) {
  const size_t n = c.depths.size();
  if (n == 0) throw TrainError("--depths: need at least one stage");
  if (c.base_widths.size() != n || c.strides.size() != n)
    throw TrainError("--depths, widths and strides must list the same number of stages (" +
                     std::to_string(n) + " depths, " + std::to_string(c.base_widths.size()) +
                     " widths, " + std::to_string(c.strides.size()) + " strides)");
  if (!(c.width_a > 0) || !(c.width_b > 0))
    throw TrainError("--width-a and --width-b must be > 0");
  for (size_t i = 0; i < n; ++i) {
    if (c.depths[i] < 1) throw TrainError("--depths: stage " + std::to_string(i) + " has depth 0");
    if (c.strides[i] != 1 && c.strides[i] != 2)
      throw TrainError("stride of stage " + std::to_string(i) + " must be 1 or 2");
  }
  for (int64_t w : c.widths())
    if (w < 1) throw TrainError("a stage width rounds to 0; raise --width-a/--width-b");
  if (c.in_channels < 1 || c.in_channels > 4) throw TrainError("input channels must be 1..4");
  if (c.height < 1 || c.width < 1) throw TrainError("input size must be positive");
  if (c.num_classes < 2) throw TrainError("need at least 2 classes");
  if (c.norm == NormKind::Oabn &&
      !(c.oabn.kappa > 1 && c.oabn.lambda_1x1 > 0 && c.oabn.lambda_id > 0))
    throw TrainError("--oabn-kappa must be > 1 and --oabn-lambda-* > 0");
}

}  // namespace repvk::train
