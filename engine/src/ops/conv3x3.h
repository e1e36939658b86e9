// Host side of shaders/conv3x3.comp (Direct), shaders/conv3x3_tiled.comp (Tiled) and
// shaders/conv3x3_texel.comp (Texel, in conv3x3_texel.cpp): weights uploaded once, a
// pipeline specialized for the layer (bit width, codebook granularity, stride, ReLU,
// tile sizes). Direct and Tiled share bindings and the packed weights; Texel reads
// activations and load-time-expanded fp32 weights through texel buffer views.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ops/conv3x3_tuning.h"
#include "ops/op.h"
#include "ops/op_common.h"
#include "runtime/pipeline.h"
#include "repvk/device.h"
#include "repvk/model.h"
#include "repvk/network.h"

namespace repvk {

class Conv3x3Op final : public Op {
 public:
  // fp16: input and output activations are stored as half (conv3x3[_tiled]_f16).
  // Auto picks Texel on CPU devices where it fits, else Tiled. tuning: NetworkOptions'
  // tile experiments.
  Conv3x3Op(Device& device, VkPipelineCache cache, const Layer& layer, const TensorShape& input,
            bool fp16, ConvAlgorithm algorithm = ConvAlgorithm::Auto, uint32_t batch_hint = 1,
            const ConvTuningOverride& tuning = {});
  ~Conv3x3Op() override;
  Conv3x3Op(const Conv3x3Op&) = delete;
  Conv3x3Op& operator=(const Conv3x3Op&) = delete;

  void bind(DescriptorArena& arena, VkBuffer input, VkBuffer output) override;
  // Dispatches only; the caller inserts barriers. Splits along x when OH*OW needs
  // more workgroups than maxComputeWorkGroupCount[0].
  void record(VkCommandBuffer cmd, uint32_t batch) const override;

  uint64_t flops(uint32_t batch) const override;
  std::string name() const override;
  const ComputePipeline& pipeline() const override { return *pipeline_; }

  const TensorShape& input_shape() const { return in_; }
  const TensorShape& output_shape() const { return out_; }
  ConvAlgorithm algorithm() const { return algorithm_; }
  // Direct: output pixels per workgroup; Tiled and Texel: invocations per workgroup.
  uint32_t workgroup_pixels() const { return wg_pixels_; }
  // Output channels per invocation (every kernel).
  uint32_t channel_tile() const { return oc_tile_; }
  const TiledConvConfig& tiled_config() const { return tiled_; }
  const TexelConvConfig& texel_config() const { return texel_; }

 private:
  Device& device_;
  TensorShape in_, out_;
  uint32_t stride_ = 1;
  bool relu_ = false;
  bool fp16_ = false;
  ops::LayerWeights weights_;
  uint32_t wg_pixels_ = 0;
  uint32_t oc_tile_ = 0;
  ConvAlgorithm algorithm_ = ConvAlgorithm::Tiled;
  TiledConvConfig tiled_;
  TexelConvConfig texel_;
  ConvTuningOverride tuning_;
  uint32_t max_batch_ = 1;                 // images per record(): sizes the input view
  ops::TexelWeights texel_weights_;        // RGBA32F layout of shaders/conv3x3_texel.comp
  std::vector<VkBufferView> input_views_;  // one per bind(); destroyed with the op
  std::unique_ptr<ComputePipeline> pipeline_;
  VkDescriptorSet set_ = VK_NULL_HANDLE;

  void create_direct(VkPipelineCache cache);
  void create_tiled(VkPipelineCache cache, uint32_t batch_hint);
  bool texel_fits(uint32_t batch_hint) const;
  void create_texel(VkPipelineCache cache, const Layer& layer, uint32_t batch_hint);
  void bind_texel(DescriptorArena& arena, VkBuffer input, VkBuffer output);
  void record_texel(VkCommandBuffer cmd, uint32_t batch) const;
  // Tiled and Texel fold the batch into x: calls dispatch(first_group, groups_x,
  // positions) once per slice of at most maxComputeWorkGroupCount[0] workgroups.
  void record_position_groups(uint32_t px, uint32_t batch,
                              const std::function<void(uint32_t, uint32_t, uint32_t)>& dispatch) const;
  void record_direct(VkCommandBuffer cmd, uint32_t batch) const;
  void record_tiled(VkCommandBuffer cmd, uint32_t batch) const;
};

}  // namespace repvk
