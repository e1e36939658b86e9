// Host side of shaders/fully_connected.comp: [N][In] -> [N][Out], fp32 storage.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <string>

#include "ops/op_common.h"
#include "pipeline.h"
#include "repvk/device.h"
#include "repvk/model.h"

namespace repvk {

class FullyConnectedOp {
 public:
  // `input` is the pooled shape (C x 1 x 1). fp16 must be false: an FC layer
  // always follows global_avg_pool, whose output is fp32 in every precision mode
  // (see engine/src/ops/README.md); passing true is a planning bug and throws.
  FullyConnectedOp(Device& device, VkPipelineCache cache, const Layer& layer,
                   const TensorShape& input, bool fp16);

  void bind(DescriptorArena& arena, VkBuffer input, VkBuffer output);
  void record(VkCommandBuffer cmd, uint32_t batch) const;

  uint64_t flops(uint32_t batch) const;
  std::string name() const;

  TensorShape output_shape() const { return TensorShape{out_features_, 1, 1}; }
  uint32_t input_element_bytes() const { return 4; }
  uint32_t output_element_bytes() const { return 4; }
  uint32_t workgroup_size() const { return wg_; }

 private:
  Device& device_;
  uint32_t in_features_ = 0;
  uint32_t out_features_ = 0;
  bool relu_ = false;
  ops::LayerWeights weights_;
  uint32_t wg_ = 0;
  std::unique_ptr<ComputePipeline> pipeline_;
  VkDescriptorSet set_ = VK_NULL_HANDLE;
};

}  // namespace repvk
