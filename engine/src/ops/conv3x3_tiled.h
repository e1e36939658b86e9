// SPDX-License-Identifier: MIT
// The tiled conv3x3 kernel (shaders/conv3x3_tiled.comp): a compiled register block of
// PX pixels x OC_BLOCK channels per invocation, the batch folded into x, packed
// weights decoded CIN_CHUNK input channels at a time into a shared-memory tile.
// Tile sizes: choose_tiled_config() (conv3x3_tuning.h).
#pragma once

#include "ops/conv3x3.h"
#include "ops/conv3x3_tuning.h"
#include "ops/op_common.h"

namespace repvk {

class Conv3x3TiledOp final : public Conv3x3Op {
 public:
  explicit Conv3x3TiledOp(const Conv3x3Args& args);

  void bind(DescriptorArena& arena, VkBuffer input, VkBuffer output) override;
  ConvAlgorithm algorithm() const override { return ConvAlgorithm::Tiled; }
  uint32_t workgroup_size() const override { return config_.workgroup; }
  uint32_t channel_block() const override { return config_.oc_block(); }
  uint32_t pixel_block() const override { return config_.px(); }
  std::string tile_details() const override;
  const TiledConvConfig& config() const { return config_; }
  uint64_t weight_bytes() const override { return weights_.bytes(); }

 private:
  void record_dispatches(VkCommandBuffer cmd, uint32_t batch) const override;

  ops::LayerWeights weights_;  // packed indices, codebooks, bias (bindings 2..4)
  TiledConvConfig config_;
};

}  // namespace repvk
