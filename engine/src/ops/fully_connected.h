// SPDX-License-Identifier: MIT
// Host side of shaders/fully_connected{,_rows,_gemv,_texel}.comp:
// [N][In] -> [N][Out], fp32 storage. The storage kernel reads the packed weights; the
// texel one (for CPU devices, where the network runs ConvAlgorithm::Texel) reads the
// input and load-time-expanded fp32 weights through texel buffer views.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/op.h"
#include "ops/op_common.h"
#include "runtime/pipeline.h"
#include "repvk/device.h"
#include "repvk/model.h"

namespace repvk {

// The storage-buffer kernel when the texel one is not used. Auto: Storage
// (shaders/fully_connected.comp) on CPU devices, where it was measured; on GPUs Gemv
// (shaders/fully_connected_gemv.comp: a subgroup per 4 rows, lanes split K, subgroupAdd,
// several images per pass) where the device has subgroup arithmetic in compute and the
// staged activations fit shared memory, else Rows (shaders/fully_connected_rows.comp:
// transposed 128-bit index words, one row per invocation). Gemv asked for where it
// cannot run falls back to Rows the same way (gemv_kernel() tells).
enum class FcKernel { Auto, Storage, Rows, Gemv };

class FullyConnectedOp final : public Op {
 public:
  // `input` is the pooled shape (C x 1 x 1). fp16 must be false: an FC layer
  // always follows global_avg_pool, whose output is fp32 in every precision mode
  // (see engine/src/ops/README.md); passing true is a planning bug and throws.
  // texel asks for the texel kernel, which record() may then run on at most
  // batch_hint images (its input view is sized for them); it falls back to the storage
  // kernel where the input view or the expanded weights exceed maxTexelBufferElements.
  FullyConnectedOp(Device& device, VkPipelineCache cache, const Layer& layer,
                   const TensorShape& input, bool fp16, bool texel = false,
                   uint32_t batch_hint = 1, FcKernel kernel = FcKernel::Auto);
  ~FullyConnectedOp() override;
  FullyConnectedOp(const FullyConnectedOp&) = delete;
  FullyConnectedOp& operator=(const FullyConnectedOp&) = delete;

  void bind(DescriptorArena& arena, VkBuffer input, VkBuffer output) override;
  void record(VkCommandBuffer cmd, uint32_t batch) const override;

  uint64_t flops(uint32_t batch) const override;
  // Packed rows, transposed words (gemv) or the expanded texel weights, with codebooks
  // and bias.
  uint64_t weight_bytes() const override { return weights_.bytes() + texel_weights_.bytes(); }
  std::string name() const override;
  const ComputePipeline& pipeline() const override { return *pipeline_; }

  TensorShape output_shape() const { return TensorShape{out_features_, 1, 1}; }
  uint32_t workgroup_size() const { return wg_; }
  // Whether the texel kernel runs (texel requested and within the device's limits).
  bool texel() const { return texel_; }
  // Texel kernel: images per invocation (1 or 2); 0 on the storage kernel.
  uint32_t images_per_invocation() const { return imgs_; }
  // Whether the Rows kernel runs, and its images per workgroup.
  bool rows_kernel() const { return rows_imgs_ > 0; }
  uint32_t rows_images() const { return rows_imgs_; }
  // Whether the Gemv kernel runs, its images per workgroup and output rows per workgroup.
  bool gemv_kernel() const { return gemv_imgs_ > 0; }
  uint32_t gemv_images() const { return gemv_imgs_; }
  uint32_t gemv_rows_per_workgroup() const { return gemv_rows_; }

 private:
  Device& device_;
  uint32_t in_features_ = 0;
  uint32_t out_features_ = 0;
  bool relu_ = false;
  ops::LayerWeights weights_;
  uint32_t wg_ = 0;
  bool texel_ = false;
  uint32_t imgs_ = 0;
  uint32_t rows_imgs_ = 0;                 // Rows kernel: images per workgroup; 0 = not used
  uint32_t vecs_per_row_ = 0;              // Rows and Gemv kernels: uvec4s per row
  uint32_t gemv_imgs_ = 0;                 // Gemv kernel: images per workgroup; 0 = not used
  uint32_t gemv_rows_ = 0;                 // Gemv kernel: output rows per workgroup
  uint32_t max_batch_ = 1;                 // images per record() on the texel kernel
  ops::TexelWeights texel_weights_;        // RGBA32F layout of fully_connected_texel.comp
  std::vector<VkBufferView> input_views_;  // one per bind(); destroyed with the op
  std::unique_ptr<ComputePipeline> pipeline_;
  VkDescriptorSet set_ = VK_NULL_HANDLE;

  bool texel_fits(uint32_t batch_hint) const;
  void create_storage(VkPipelineCache cache);
  void create_rows(VkPipelineCache cache, const Layer& layer);
  // false (and nothing created) where the device lacks subgroup arithmetic in compute
  // shaders or the staged activations do not fit its shared memory.
  bool create_gemv(VkPipelineCache cache, const Layer& layer);
  void create_texel(VkPipelineCache cache, const Layer& layer);
};

}  // namespace repvk
