// SPDX-License-Identifier: MIT
// The image on screen, which is also the engine's input: one device-local RGBA8
// texture that the display pass samples and repvk's preprocess shader reads
// (repvk::ImageInput). Pixels reach it once per image change, through a staging
// buffer; classification never copies them back.
#pragma once

#include <cstdint>
#include <string>

#include <vulkan/vulkan.h>

#include "repvk/device.h"
#include "repvk/image_input.h"
#include "repvk/network.h"  // repvk::Image

namespace repvk::demo {

class VulkanContext;

class Texture {
 public:
  // `engine`: repvk's Device over ctx's handles (memory types); it must outlive this.
  Texture(VulkanContext& ctx, const Device& engine);
  ~Texture();
  Texture(const Texture&) = delete;
  Texture& operator=(const Texture&) = delete;

  // Stages `img` for the next record_upload(). The caller guarantees that no submitted
  // work still uses the texture or the staging buffer. Returns true when the VkImage
  // and view were replaced (the image outgrew the texture): descriptor sets that
  // point at the old view must be rewritten before they are used again.
  bool set(const Image& img);
  // Records the pending copy and leaves the texture in SHADER_READ_ONLY_OPTIMAL,
  // visible to fragment and compute shaders. Does nothing when nothing is pending.
  void record_upload(VkCommandBuffer cmd);

  bool has_content() const { return uploaded_ && !pending_; }
  VkImageView view() const { return view_; }
  uint32_t width() const { return width_; }    // of the current image, not the texture
  uint32_t height() const { return height_; }
  // Non-empty when the image was too large for the device and was scaled down.
  const std::string& note() const { return note_; }
  // The current image as the engine's input: its region of the texture, the
  // decoded file's channel count (gray is read from R), the barrier left to repvk.
  ImageInput input() const;

 private:
  void destroy_image();
  void create_image(uint32_t capacity);

  VulkanContext& ctx_;
  const Device& engine_;
  uint32_t capacity_ = 0;  // the texture is capacity_ x capacity_ texels
  uint32_t width_ = 0, height_ = 0, channels_ = 0;
  bool pending_ = false, uploaded_ = false, initialized_ = false;
  std::string note_;
  VkImage image_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  VkImageView view_ = VK_NULL_HANDLE;
  VkBuffer staging_ = VK_NULL_HANDLE;
  VkDeviceMemory staging_memory_ = VK_NULL_HANDLE;
  void* staging_map_ = nullptr;
  VkDeviceSize staging_size_ = 0;
};

}  // namespace repvk::demo
