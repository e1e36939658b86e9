// SPDX-License-Identifier: MIT
// Classifying an image the application already has on the GPU (a texture it loaded,
// a frame it rendered), with no copy through host memory. Network's
// record_classify_image / submit_classify_image take these; docs/embedding.md walks
// through layouts, queue families and synchronization.
#pragma once

#include <cstdint>
#include <vector>

#include <vulkan/vulkan.h>

namespace repvk {

// One application-owned 2-D image. repvk only reads it and never keeps the handles
// beyond the classification they were passed for.
struct ImageInput {
  // A 2-D view (VK_IMAGE_VIEW_TYPE_2D, one mip level, one layer) of an image created
  // with VK_IMAGE_USAGE_SAMPLED_BIT, with a color format the shader reads as float
  // (UNORM, SRGB, SFLOAT, ...). It is bound as a SAMPLED_IMAGE and read with texelFetch.
  VkImageView view = VK_NULL_HANDLE;
  // The layout the image is in when the recorded commands execute:
  // SHADER_READ_ONLY_OPTIMAL (preferred) or GENERAL. repvk never transitions it.
  VkImageLayout layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
  // Size of the view's mip level, in texels.
  uint32_t width = 0, height = 0;
  // What the format's components mean: 1 gray (R), 2 gray + alpha (R, G), 3 RGB,
  // 4 RGBA. Mapped onto the model's channels exactly like repvk::preprocess().
  uint32_t channels = 4;
  // The view has an _SRGB format: the shader re-encodes the linearized values so the
  // model sees the stored codes, as it does for a decoded file on the host path.
  bool srgb = false;
  // Region of interest in texels; a zero extent means the whole image. It is resized
  // (bilinear) to the model's input size.
  VkRect2D region{};

  // Optional. When set, repvk records the image barriers itself: before reading, one
  // that makes all earlier writes to the image (in submission order on this queue)
  // visible to its compute shader, and, for a queue-family ownership transfer, the
  // acquire half; after reading, the release half when release_to_queue_family is set.
  // Left null, the application records every barrier the image needs.
  VkImage image = VK_NULL_HANDLE;
  VkImageSubresourceRange subresource{VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
  // The family the application released the image from (the matching release barrier
  // must already have executed on that family's queue, e.g. chained with a semaphore).
  // VK_QUEUE_FAMILY_IGNORED or the Device's own family: no transfer.
  uint32_t acquire_from_queue_family = VK_QUEUE_FAMILY_IGNORED;
  // Hand the image back to this family afterwards; the application then records the
  // matching acquire on that family. VK_QUEUE_FAMILY_IGNORED: no transfer.
  uint32_t release_to_queue_family = VK_QUEUE_FAMILY_IGNORED;
};

// Synchronization for a submission repvk makes on its queue. Every handle is borrowed.
struct SubmitSync {
  std::vector<VkSemaphore> wait_semaphores;          // binary semaphores
  std::vector<VkPipelineStageFlags> wait_stages;     // one per wait semaphore
  std::vector<VkSemaphore> signal_semaphores;        // signalled when the result is written
  // Signalled (unsignalled on entry) once the result is written; repvk also keeps its
  // own fence, so this one is optional.
  VkFence fence = VK_NULL_HANDLE;
};

}  // namespace repvk
