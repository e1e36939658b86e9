// Host side of shaders/softmax.comp: row-wise softmax of fp32 logits.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/pipeline.h"
#include "repvk/device.h"
#include "repvk/model.h"

namespace repvk {

class SoftmaxOp {
 public:
  // Logits and probabilities are fp32 in every precision mode, hence no fp16 flag.
  SoftmaxOp(Device& device, VkPipelineCache cache, const TensorShape& input);

  void bind(DescriptorArena& arena, VkBuffer input, VkBuffer output);
  void record(VkCommandBuffer cmd, uint32_t batch) const;

  uint64_t flops(uint32_t batch) const;
  std::string name() const;

  TensorShape output_shape() const { return TensorShape{classes_, 1, 1}; }
  uint32_t input_element_bytes() const { return 4; }
  uint32_t output_element_bytes() const { return 4; }
  uint32_t workgroup_size() const { return wg_; }

 private:
  Device& device_;
  uint32_t classes_ = 0;
  uint32_t wg_ = 0;
  std::unique_ptr<ComputePipeline> pipeline_;
  VkDescriptorSet set_ = VK_NULL_HANDLE;
};

}  // namespace repvk
