// SPDX-License-Identifier: MIT
// The texel conv3x3 kernel (shaders/conv3x3_texel.comp): activations and weights are
// read through texel-buffer views, the weights expanded once, at load time, into the
// RGBA32F layout the shader fetches four output channels at a time from; only the
// bias is uploaded as it is. What CPU drivers such as lavapipe run fastest.
// Register block: choose_texel_config() (conv3x3_tuning.h).
#pragma once

#include <vector>

#include "ops/conv3x3.h"
#include "ops/conv3x3_tuning.h"
#include "ops/op_common.h"

namespace repvk {

class Conv3x3TexelOp final : public Conv3x3Op {
 public:
  // Whether the layer's input (args.max_batch images) and expanded weights fit the
  // device's maxTexelBufferElements; the constructor assumes they do.
  static bool fits(const Conv3x3Args& args);

  explicit Conv3x3TexelOp(const Conv3x3Args& args);
  ~Conv3x3TexelOp() override;

  // Each bind() creates a texel view of `input` covering max_batch images.
  void bind(DescriptorArena& arena, VkBuffer input, VkBuffer output) override;
  ConvAlgorithm algorithm() const override { return ConvAlgorithm::Texel; }
  uint32_t workgroup_size() const override { return config_.workgroup; }
  uint32_t channel_block() const override { return config_.oc_block(); }
  uint32_t pixel_block() const override { return config_.px(); }
  const TexelConvConfig& config() const { return config_; }
  uint64_t weight_bytes() const override { return bias_.size() + texel_weights_.bytes(); }

 private:
  // Throws for a batch above max_batch (the input view is sized for it).
  void record_dispatches(VkCommandBuffer cmd, uint32_t batch) const override;

  uint32_t max_batch_ = 1;
  TexelConvConfig config_;
  Buffer bias_;                            // binding 3, as in the layer
  ops::TexelWeights texel_weights_;        // RGBA32F layout of shaders/conv3x3_texel.comp
  std::vector<VkBufferView> input_views_;  // one per bind(); destroyed with the op
};

}  // namespace repvk
