// SPDX-License-Identifier: MIT
// Glue shared by the subcommands: loading data that matches the model, and
// rebuilding a trained network (with its normalization and class names) from a
// checkpoint.
#pragma once

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "model/repvgg.h"

namespace repvk::train {

struct DataOptions {
  std::string kind = "fashion-mnist";
  std::string dir;          // empty: the dataset's default folder
  int64_t image_size = 0;   // image folders: resize to this (0: keep)
  int64_t channels = 3;     // image folders: 1 or 3
  int64_t val = 5000;       // training images held out for validation (0: none)
};
// load_dataset, then hold_out_validation(d.val).
DatasetPair load_data(const DataOptions& d);
nlohmann::json data_to_json(const DataOptions& d);
DataOptions data_from_json(const nlohmann::json& j);

// Sets the model's input shape and class count from the dataset. A preset with a
// fixed input (A0: 3x224x224, A0-32: 3x32x32) or an explicit --input must match the
// data; otherwise TrainError explains the mismatch.
void fit_config_to_data(ModelConfig& c, const Dataset& d, bool input_fixed);

nlohmann::json norm_to_json(const Normalization& n);
Normalization norm_from_json(const nlohmann::json& j);

// Write `text` (or `j`, indented) to `path` through a temporary file and a rename,
// so a reader never sees half a file. Throw TrainError naming the path.
void write_text_atomic(const std::string& path, const std::string& text);
void write_json_atomic(const std::string& path, const nlohmann::json& j);

struct Trained {
  ModelConfig config;
  RepVGG net{nullptr};
  Normalization norm;
  std::vector<std::string> classes;
  DataOptions data;
  nlohmann::json meta;
};
// Loads a `repvk-train train` checkpoint onto `device`.
Trained load_trained(const std::string& checkpoint, torch::Device device);

}  // namespace repvk::train
