// Host side of shaders/conv3x3.comp: weights uploaded once, a pipeline specialized
// for the layer (bit width, codebook granularity, stride, ReLU, tile sizes).
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

class Conv3x3Op {
 public:
  // fp16: input and output activations are stored as half (conv3x3_f16).
  Conv3x3Op(Device& device, VkPipelineCache cache, const Layer& layer, const TensorShape& input,
            bool fp16);

  void bind(DescriptorArena& arena, VkBuffer input, VkBuffer output);
  // Dispatches only; the caller inserts barriers. Splits along x when OH*OW needs
  // more workgroups than maxComputeWorkGroupCount[0].
  void record(VkCommandBuffer cmd, uint32_t batch) const;

  uint64_t flops(uint32_t batch) const;
  std::string name() const;

  const TensorShape& input_shape() const { return in_; }
  const TensorShape& output_shape() const { return out_; }
  uint32_t input_element_bytes() const { return fp16_ ? 2 : 4; }
  uint32_t output_element_bytes() const { return fp16_ ? 2 : 4; }
  uint32_t workgroup_pixels() const { return wg_pixels_; }
  uint32_t channel_tile() const { return oc_tile_; }

 private:
  Device& device_;
  TensorShape in_, out_;
  uint32_t stride_ = 1;
  bool relu_ = false;
  bool fp16_ = false;
  ops::LayerWeights weights_;
  uint32_t wg_pixels_ = 0;
  uint32_t oc_tile_ = 0;
  std::unique_ptr<ComputePipeline> pipeline_;
  VkDescriptorSet set_ = VK_NULL_HANDLE;
};

}  // namespace repvk
