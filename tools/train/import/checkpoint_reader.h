// SPDX-License-Identifier: MIT
// Reads the tensors of a PyTorch checkpoint written by torch.save (zip format, torch
// >= 1.6): libtorch's own zip reader (caffe2::serialize::PyTorchStreamReader) opens
// the archive and its records; data.pkl is parsed by state_dict_pickle.h, which
// accepts only what a state dict needs. No Python is involved.
#pragma once

#include "common.h"

namespace repvk::train {

struct CheckpointTensors {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;  // file order, as stored
  std::string wrapper_key;  // "" or the key of the dict holding the state dict
};

// Throws TrainError naming `path` and what was wrong: not a zip archive, the legacy
// (pre-1.6) format, a truncated archive, an opcode or global outside the subset, a
// storage record missing or shorter than its tensors need.
CheckpointTensors read_checkpoint_tensors(const std::string& path);

}  // namespace repvk::train
