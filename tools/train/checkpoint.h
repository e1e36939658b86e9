// SPDX-License-Identifier: MIT
// Checkpoints: module parameters and buffers, optimizer state, a JSON metadata blob
// (config, normalization, class names, progress) and optional extra tensors (e.g.
// ClusterQAT codebooks). Written to a temporary file, fsynced, then renamed, so a
// crash or Ctrl-C never leaves a truncated checkpoint behind.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>

#include "common.h"

namespace repvk::train {

using ArchiveWriter = std::function<void(torch::serialize::OutputArchive&)>;
using ArchiveReader = std::function<void(torch::serialize::InputArchive&)>;

void save_checkpoint(const std::string& path, torch::nn::Module& module,
                     torch::optim::Optimizer* optimizer, const nlohmann::json& meta,
                     const ArchiveWriter& extra = {});

// Metadata only (cheap enough to decide how to rebuild the module).
nlohmann::json read_checkpoint_meta(const std::string& path);

void load_checkpoint(const std::string& path, torch::nn::Module& module,
                     torch::optim::Optimizer* optimizer, const ArchiveReader& extra = {});

}  // namespace repvk::train
