// SPDX-License-Identifier: MIT
// The direct conv3x3 kernel (shaders/conv3x3.comp): the first correct version, kept
// as the baseline speedups are measured against. One output pixel per invocation,
// OC_TILE channels each, packed weights decoded from codebooks staged in shared memory.
#pragma once

#include "ops/conv3x3.h"
#include "ops/op_common.h"

namespace repvk {

class Conv3x3DirectOp final : public Conv3x3Op {
 public:
  explicit Conv3x3DirectOp(const Conv3x3Args& args);

  void bind(DescriptorArena& arena, VkBuffer input, VkBuffer output) override;
  ConvAlgorithm algorithm() const override { return ConvAlgorithm::Direct; }
  uint32_t workgroup_size() const override { return workgroup_; }
  uint32_t channel_block() const override { return oc_tile_; }
  uint32_t pixel_block() const override { return 1; }
  uint64_t weight_bytes() const override { return weights_.bytes(); }

 private:
  // Splits along x when OH*OW needs more workgroups than maxComputeWorkGroupCount[0];
  // the batch is z.
  void record_dispatches(VkCommandBuffer cmd, uint32_t batch) const override;

  ops::LayerWeights weights_;  // packed indices, codebooks, bias (bindings 2..4)
  uint32_t workgroup_ = 0;     // WG_PIXELS: output pixels (= invocations) per workgroup
  uint32_t oc_tile_ = 0;       // OC_TILE
};

}  // namespace repvk
