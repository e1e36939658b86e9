// SPDX-License-Identifier: MIT
// Host side of shaders/global_avg_pool.comp: [N][C][H][W] -> [N][C] means.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <string>

#include "ops/op.h"
#include "runtime/pipeline.h"
#include "repvk/device.h"
#include "repvk/model.h"

namespace repvk {

class GlobalAvgPoolOp final : public Op {
 public:
  // fp16: the input activations are half (global_avg_pool_f16). The output is
  // always fp32: pooled features, logits and probabilities are never stored as half.
  GlobalAvgPoolOp(Device& device, VkPipelineCache cache, const TensorShape& input, bool fp16);

  void bind(DescriptorArena& arena, VkBuffer input, VkBuffer output) override;
  void record(VkCommandBuffer cmd, uint32_t batch) const override;

  uint64_t flops(uint32_t batch) const override;
  std::string name() const override;
  const ComputePipeline& pipeline() const override { return *pipeline_; }

  const TensorShape& input_shape() const { return in_; }
  TensorShape output_shape() const { return TensorShape{in_.c, 1, 1}; }
  uint32_t workgroup_size() const { return wg_; }

 private:
  Device& device_;
  TensorShape in_;
  bool fp16_ = false;
  uint32_t wg_ = 0;
  std::unique_ptr<ComputePipeline> pipeline_;
  VkDescriptorSet set_ = VK_NULL_HANDLE;
};

}  // namespace repvk
