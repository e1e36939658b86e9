// SPDX-License-Identifier: MIT
// Host side of shaders/preprocess_image.comp: an application's VkImage -> the
// network's input buffer (batch 1), bilinear resize (or shorter side + centre crop)
// + channel mapping + mean/std,
// matching repvk::preprocess() on the host.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/pipeline.h"
#include "repvk/device.h"
#include "repvk/image_input.h"
#include "repvk/model.h"

namespace repvk {

class PreprocessImageOp {
 public:
  // Writes `output` (input.channels*height*width activations, half when fp16).
  PreprocessImageOp(Device& device, VkPipelineCache cache, const InputSpec& input, bool fp16,
                    VkBuffer output);
  ~PreprocessImageOp();
  PreprocessImageOp(const PreprocessImageOp&) = delete;
  PreprocessImageOp& operator=(const PreprocessImageOp&) = delete;

  // Throws repvk::Error describing the first problem with `image`.
  static void validate(const ImageInput& image);

  // Points the descriptor set at image.view. The set is rewritten only when the view
  // or layout changed, so command buffers recorded for the same view stay valid; a
  // rewrite requires that no command buffer using the set is pending (one
  // classification in flight per Network).
  void bind(const ImageInput& image);
  // Records the optional acquire barrier, the dispatch, and the optional release.
  // The caller puts the barrier between this and the first layer.
  void record(VkCommandBuffer cmd, const ImageInput& image) const;

  std::string name() const;

 private:
  Device& device_;
  InputSpec in_;
  bool fp16_ = false;
  std::unique_ptr<ComputePipeline> pipeline_;
  VkDescriptorPool pool_ = VK_NULL_HANDLE;
  VkDescriptorSet set_ = VK_NULL_HANDLE;
  VkImageView bound_view_ = VK_NULL_HANDLE;
  VkImageLayout bound_layout_ = VK_IMAGE_LAYOUT_UNDEFINED;
};

}  // namespace repvk
