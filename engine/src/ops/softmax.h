// SPDX-License-Identifier: MIT
// Host side of shaders/softmax.comp: row-wise softmax of fp32 logits.
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

class SoftmaxOp final : public Op {
 public:
  // Logits and probabilities are fp32 in every precision mode, hence no fp16 flag.
  SoftmaxOp(Device& device, VkPipelineCache cache, const TensorShape& input);

  void bind(DescriptorArena& arena, VkBuffer input, VkBuffer output) override;
  void record(VkCommandBuffer cmd, uint32_t batch) const override;

  uint64_t flops(uint32_t batch) const override;
  std::string name() const override;
  const ComputePipeline& pipeline() const override { return *pipeline_; }

  TensorShape output_shape() const { return TensorShape{classes_, 1, 1}; }
  uint32_t workgroup_size() const { return wg_; }

 private:
  Device& device_;
  uint32_t classes_ = 0;
  uint32_t wg_ = 0;
  std::unique_ptr<ComputePipeline> pipeline_;
  VkDescriptorSet set_ = VK_NULL_HANDLE;
};

}  // namespace repvk
