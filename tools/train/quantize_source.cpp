// SPDX-License-Identifier: MIT
#include "quantize_source.h"

#include "export.h"

namespace repvk::train {

QuantSource load_quant_source(const QuantizeCommand& cmd) {
  QuantSource s;
  if (!cmd.model_path.empty()) {
    const repvk::Model m = [&] {
      try {
        return repvk::read_model(cmd.model_path);
      } catch (const repvk::ModelError& e) {
        throw TrainError(std::string("--model: ") + e.what());
      }
    }();
    s.path = cmd.model_path;
    s.deploy = deploy_from_model(m, cmd.model_path);
    s.norm = {m.input.mean, m.input.std};
    s.classes = m.class_names;
    s.channels = m.input.channels;
    s.height = m.input.height;
    s.width = m.input.width;
    // "repvgg-small" -> "small"; anything else keeps its name.
    s.preset = m.name.rfind("repvgg-", 0) == 0 ? m.name.substr(7) : m.name;
    if (s.preset.empty()) s.preset = "model";
    return s;
  }
  Trained tr = load_trained(cmd.checkpoint, torch::kCPU);
  s.path = cmd.checkpoint;
  s.deploy = tr.net->merge();
  s.norm = tr.norm;
  s.classes = tr.classes;
  s.data = tr.data;
  s.preset = tr.config.preset;
  s.channels = tr.config.in_channels;
  s.height = tr.config.height;
  s.width = tr.config.width;
  s.config = tr.config;
  return s;
}

void check_source_data(const QuantSource& src, const Dataset& train) {
  if (src.config) {
    ModelConfig check = *src.config;
    fit_config_to_data(check, train, true);
    if (check.num_classes != src.config->num_classes)
      throw TrainError("dataset has " + std::to_string(check.num_classes) +
                       " classes but the checkpoint was trained with " +
                       std::to_string(src.config->num_classes));
    return;
  }
  const int64_t classes = int64_t(train.class_names.size());
  if (train.channels() != src.channels || train.height() != src.height || train.width() != src.width)
    throw TrainError(src.path + " takes " + std::to_string(src.channels) + "x" + std::to_string(src.height) +
                     "x" + std::to_string(src.width) + " images but the dataset has " +
                     std::to_string(train.channels()) + "x" + std::to_string(train.height()) + "x" +
                     std::to_string(train.width()));
  if (classes != int64_t(src.classes.size()))
    throw TrainError("dataset has " + std::to_string(classes) + " classes but " + src.path + " has " +
                     std::to_string(src.classes.size()));
}

}  // namespace repvk::train
