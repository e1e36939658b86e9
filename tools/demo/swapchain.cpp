// SPDX-License-Identifier: MIT
#include "swapchain.h"

#include <algorithm>

#include "repvk/error.h"
#include "vk_context.h"

namespace repvk::demo {

Swapchain::Swapchain(VulkanContext& ctx, bool capture) : ctx_(ctx), capture_(capture) {
  uint32_t n = 0;
  vk_check(vkGetPhysicalDeviceSurfaceFormatsKHR(ctx.physical, ctx.surface, &n, nullptr),
           "vkGetPhysicalDeviceSurfaceFormatsKHR");
  std::vector<VkSurfaceFormatKHR> formats(n);
  vk_check(vkGetPhysicalDeviceSurfaceFormatsKHR(ctx.physical, ctx.surface, &n, formats.data()),
           "vkGetPhysicalDeviceSurfaceFormatsKHR");
  if (formats.empty()) throw Error("the window surface reports no formats");
  format_ = formats[0];
  for (const VkFormat want : {VK_FORMAT_B8G8R8A8_UNORM, VK_FORMAT_R8G8B8A8_UNORM}) {
    const auto it = std::find_if(formats.begin(), formats.end(), [&](const VkSurfaceFormatKHR& f) {
      return f.format == want && f.colorSpace == VK_COLOR_SPACE_SRGB_NONLINEAR_KHR;
    });
    if (it != formats.end()) {
      format_ = *it;
      break;
    }
  }
  if (capture && format_.format != VK_FORMAT_B8G8R8A8_UNORM &&
      format_.format != VK_FORMAT_R8G8B8A8_UNORM)
    throw Error("--screenshot needs an 8-bit UNORM BGRA or RGBA surface format");
}

Swapchain::~Swapchain() {
  destroy_views();
  if (swapchain_) vkDestroySwapchainKHR(ctx_.device, swapchain_, nullptr);
}

void Swapchain::destroy_views() {
  for (VkFramebuffer f : framebuffers_) vkDestroyFramebuffer(ctx_.device, f, nullptr);
  for (VkImageView v : views_) vkDestroyImageView(ctx_.device, v, nullptr);
  for (VkSemaphore s : rendered_) vkDestroySemaphore(ctx_.device, s, nullptr);
  framebuffers_.clear();
  views_.clear();
  rendered_.clear();
}

void Swapchain::create(uint32_t width, uint32_t height, VkRenderPass render_pass) {
  VkSurfaceCapabilitiesKHR caps{};
  vk_check(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(ctx_.physical, ctx_.surface, &caps),
           "vkGetPhysicalDeviceSurfaceCapabilitiesKHR");
  if (caps.currentExtent.width != UINT32_MAX) {
    extent_ = caps.currentExtent;  // the window system decides
  } else {
    extent_.width = std::clamp(width, caps.minImageExtent.width, caps.maxImageExtent.width);
    extent_.height = std::clamp(height, caps.minImageExtent.height, caps.maxImageExtent.height);
  }
  VkImageUsageFlags usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT;
  if (capture_) {
    if (!(caps.supportedUsageFlags & VK_IMAGE_USAGE_TRANSFER_SRC_BIT))
      throw Error("--screenshot: this surface's images cannot be copied (no TRANSFER_SRC usage)");
    usage |= VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
  }
  // One more than the minimum, so acquiring never waits on the presentation engine
  // while a frame is still being recorded.
  min_images_ = caps.minImageCount + 1;
  if (caps.maxImageCount > 0) min_images_ = std::min(min_images_, caps.maxImageCount);
  min_images_ = std::max(min_images_, 2u);

  VkSwapchainCreateInfoKHR sci{VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR};
  sci.surface = ctx_.surface;
  sci.minImageCount = min_images_;
  sci.imageFormat = format_.format;
  sci.imageColorSpace = format_.colorSpace;
  sci.imageExtent = extent_;
  sci.imageArrayLayers = 1;
  sci.imageUsage = usage;
  const uint32_t families[2] = {ctx_.graphics_family, ctx_.present_family};
  if (ctx_.graphics_family != ctx_.present_family) {
    sci.imageSharingMode = VK_SHARING_MODE_CONCURRENT;
    sci.queueFamilyIndexCount = 2;
    sci.pQueueFamilyIndices = families;
  } else {
    sci.imageSharingMode = VK_SHARING_MODE_EXCLUSIVE;
  }
  sci.preTransform = (caps.supportedTransforms & VK_SURFACE_TRANSFORM_IDENTITY_BIT_KHR)
                         ? VK_SURFACE_TRANSFORM_IDENTITY_BIT_KHR
                         : caps.currentTransform;
  sci.compositeAlpha = VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR;
  for (const VkCompositeAlphaFlagBitsKHR a :
       {VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR, VK_COMPOSITE_ALPHA_INHERIT_BIT_KHR,
        VK_COMPOSITE_ALPHA_PRE_MULTIPLIED_BIT_KHR, VK_COMPOSITE_ALPHA_POST_MULTIPLIED_BIT_KHR})
    if (caps.supportedCompositeAlpha & a) {
      sci.compositeAlpha = a;
      break;
    }
  sci.presentMode = VK_PRESENT_MODE_FIFO_KHR;  // always supported; no tearing, no busy loop
  sci.clipped = VK_TRUE;
  sci.oldSwapchain = swapchain_;
  VkSwapchainKHR created = VK_NULL_HANDLE;
  vk_check(vkCreateSwapchainKHR(ctx_.device, &sci, nullptr, &created), "vkCreateSwapchainKHR");
  destroy_views();
  if (swapchain_) vkDestroySwapchainKHR(ctx_.device, swapchain_, nullptr);
  swapchain_ = created;

  uint32_t n = 0;
  vk_check(vkGetSwapchainImagesKHR(ctx_.device, swapchain_, &n, nullptr), "vkGetSwapchainImagesKHR");
  images_.resize(n);
  vk_check(vkGetSwapchainImagesKHR(ctx_.device, swapchain_, &n, images_.data()),
           "vkGetSwapchainImagesKHR");
  for (VkImage img : images_) {
    VkImageViewCreateInfo vci{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
    vci.image = img;
    vci.viewType = VK_IMAGE_VIEW_TYPE_2D;
    vci.format = format_.format;
    vci.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    VkImageView view = VK_NULL_HANDLE;
    vk_check(vkCreateImageView(ctx_.device, &vci, nullptr, &view), "vkCreateImageView (swapchain)");
    views_.push_back(view);
    VkFramebufferCreateInfo fci{VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO};
    fci.renderPass = render_pass;
    fci.attachmentCount = 1;
    fci.pAttachments = &view;
    fci.width = extent_.width;
    fci.height = extent_.height;
    fci.layers = 1;
    VkFramebuffer fb = VK_NULL_HANDLE;
    vk_check(vkCreateFramebuffer(ctx_.device, &fci, nullptr, &fb), "vkCreateFramebuffer");
    framebuffers_.push_back(fb);
    // Per image, not per frame: presentation may still wait on an image's semaphore
    // after the frame that signalled it has completed.
    VkSemaphoreCreateInfo semci{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    VkSemaphore s = VK_NULL_HANDLE;
    vk_check(vkCreateSemaphore(ctx_.device, &semci, nullptr, &s), "vkCreateSemaphore");
    rendered_.push_back(s);
  }
}

}  // namespace repvk::demo
