// SPDX-License-Identifier: MIT
#include "session.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "checkpoint.h"
#include "repvk/util/atomic_file.h"

namespace repvk::train {

nlohmann::json data_to_json(const DataOptions& d) {
  return {{"kind", d.kind}, {"dir", d.dir}, {"image_size", d.image_size}, {"channels", d.channels}, {"val", d.val}};
}

DataOptions data_from_json(const nlohmann::json& j) {
  DataOptions d;
  d.kind = j.value("kind", d.kind);
  d.dir = j.value("dir", d.dir);
  d.image_size = j.value("image_size", d.image_size);
  d.channels = j.value("channels", d.channels);
  d.val = j.value("val", int64_t(0));  // checkpoints older than the split trained on everything
  return d;
}

void write_json_atomic(const std::string& path, const nlohmann::json& j) {
  write_text_atomic(path, j.dump(2) + "\n");
}

void write_text_atomic(const std::string& path, const std::string& text) {
  try {
    write_file_atomically(path, text);
  } catch (const FileWriteError& e) {
    throw TrainError(e.what());
  }
}

DatasetPair load_data(const DataOptions& d) {
  DatasetPair p = load_dataset(d.kind, d.dir, d.image_size, d.channels);
  hold_out_validation(p, d.val);
  return p;
}

void fit_config_to_data(ModelConfig& c, const Dataset& d, bool input_fixed) {
  if (input_fixed && (c.in_channels != d.channels() || c.height != d.height() || c.width != d.width()))
    throw TrainError("dataset " + d.name + " has " + std::to_string(d.channels()) + "x" +
                     std::to_string(d.height()) + "x" + std::to_string(d.width()) +
                     " images but the model expects " + std::to_string(c.in_channels) + "x" +
                     std::to_string(c.height) + "x" + std::to_string(c.width) +
                     " (preset " + c.preset +
                     "); use --preset small, or an image folder with --image-size/--channels");
  c.in_channels = d.channels();
  c.height = d.height();
  c.width = d.width();
  c.num_classes = int64_t(d.class_names.size());
}

nlohmann::json norm_to_json(const Normalization& n) { return {{"mean", n.mean}, {"std", n.std}}; }

Normalization norm_from_json(const nlohmann::json& j) {
  Normalization n;
  n.mean = j.at("mean").get<std::vector<float>>();
  n.std = j.at("std").get<std::vector<float>>();
  return n;
}

Trained load_trained(const std::string& checkpoint, torch::Device device) {
  Trained t;
  t.meta = read_checkpoint_meta(checkpoint);
  if (t.meta.value("stage", "") != "train")
    throw TrainError(checkpoint + ": not a training checkpoint (written by `repvk-train train`)");
  try {
    t.config = config_from_json(t.meta.at("config"));
    t.norm = norm_from_json(t.meta.at("norm"));
    t.classes = t.meta.at("classes").get<std::vector<std::string>>();
    t.data = data_from_json(t.meta.at("data"));
  } catch (const nlohmann::json::exception& e) {
    throw TrainError(checkpoint + ": incomplete checkpoint metadata (" + e.what() + ")");
  }
  t.net = RepVGG(t.config);
  load_checkpoint(checkpoint, *t.net, nullptr);
  t.net->to(device);
  t.net->eval();
  return t;
}

}  // namespace repvk::train
