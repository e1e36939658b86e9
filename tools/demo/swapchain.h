// SPDX-License-Identifier: MIT
// The window's swapchain and what hangs off its images (views, framebuffers, one
// "rendered" semaphore each). Recreated on resize, un-minimize and
// VK_ERROR_OUT_OF_DATE_KHR; images are shared CONCURRENT between the graphics and
// present families when those differ, so no ownership transfer is needed.
#pragma once

#include <cstdint>
#include <vector>

#include <vulkan/vulkan.h>

namespace repvk::demo {

class VulkanContext;

class Swapchain {
 public:
  // Picks the surface format (8-bit UNORM BGRA/RGBA: the UI colours and the
  // image's stored codes reach the screen unchanged). `capture`: the images must also
  // be TRANSFER_SRC so a frame can be copied out (--screenshot); throws if the
  // surface cannot do that.
  Swapchain(VulkanContext& ctx, bool capture);
  ~Swapchain();
  Swapchain(const Swapchain&) = delete;
  Swapchain& operator=(const Swapchain&) = delete;

  // (Re)creates for a framebuffer of width x height; the caller has made sure no
  // submitted frame still uses the old images.
  void create(uint32_t width, uint32_t height, VkRenderPass render_pass);

  VkFormat format() const { return format_.format; }
  VkExtent2D extent() const { return extent_; }
  VkSwapchainKHR handle() const { return swapchain_; }
  uint32_t min_image_count() const { return min_images_; }
  uint32_t image_count() const { return uint32_t(images_.size()); }
  VkImage image(uint32_t i) const { return images_[i]; }
  VkFramebuffer framebuffer(uint32_t i) const { return framebuffers_[i]; }
  VkSemaphore rendered(uint32_t i) const { return rendered_[i]; }

 private:
  void destroy_views();

  VulkanContext& ctx_;
  bool capture_ = false;
  VkSurfaceFormatKHR format_{};
  uint32_t min_images_ = 2;
  VkExtent2D extent_{0, 0};
  VkSwapchainKHR swapchain_ = VK_NULL_HANDLE;
  std::vector<VkImage> images_;
  std::vector<VkImageView> views_;
  std::vector<VkFramebuffer> framebuffers_;
  std::vector<VkSemaphore> rendered_;
};

}  // namespace repvk::demo
