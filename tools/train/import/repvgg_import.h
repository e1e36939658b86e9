// SPDX-License-Identifier: MIT
// Turns the tensors of a RepVGG checkpoint (DingXiaoH/RepVGG naming) into the deploy
// network the engine runs. Both forms are read: the training form (per block
// rbr_dense / rbr_1x1 / optional rbr_identity with their BatchNorms, merged by the
// trainer's own RepBlock::merge) and the deploy form (rbr_reparam). The architecture
// (depths, widths, input channels, classes) is inferred from the tensor shapes; the
// strides, which no tensor records, come from --arch or --strides (default 2 for the
// first block of every stage, as in the public code) and are cross-checked against
// the identity branches of a training-form checkpoint.
#pragma once

#include "import/checkpoint_reader.h"
#include "model/deploy.h"

namespace repvk::train {

struct RepvggArch {
  std::string name;
  std::vector<int64_t> depths, widths, strides;
};
// small (the trainer's preset), A0, A1, A2, B0, B1, B2, B3.
std::vector<std::string> repvgg_arch_names();
RepvggArch repvgg_arch(const std::string& name);  // throws TrainError for unknown names

struct RepvggImportOptions {
  std::string arch;              // "" = no cross-check; strides default to 2
  std::vector<int64_t> strides;  // per stage, overrides the arch's
  double bn_eps = 1e-5;          // BatchNorm2d's default; state dicts do not store it
};

struct ImportedRepvgg {
  DeployNet net;
  std::string form;          // "training" or "deploy"
  std::string matched_arch;  // a known architecture with these depths and widths, or ""
  int64_t in_channels = 0, classes = 0;
  std::vector<int64_t> depths, widths, strides;
  size_t ignored = 0;        // num_batches_tracked counters
  bool stripped_module_prefix = false;
  int64_t input_height = 0, input_width = 0;  // stored in the file (ONNX input shape); 0 = not stored
};

// Sets out.matched_arch from out.depths/widths and, when `arch` is not "", checks
// them (and the strides, where the file stores them) against --arch.
void match_repvgg_arch(ImportedRepvgg& out, const std::string& arch, bool check_strides, const std::string& source);

// Throws TrainError naming `source` and the tensor at fault.
ImportedRepvgg import_repvgg(const CheckpointTensors& ckpt, const RepvggImportOptions& opt,
                             const std::string& source);

}  // namespace repvk::train
