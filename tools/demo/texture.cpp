// SPDX-License-Identifier: MIT
#include "texture.h"

#include <algorithm>
#include <cstring>

#include "repvk/error.h"
#include "vk_context.h"

namespace repvk::demo {

namespace {

// Large enough for the bundled 28x28 samples and 224x224 inputs without a resize;
// a bigger image grows it in powers of two up to the device limit.
constexpr uint32_t kMinCapacity = 256;
constexpr uint32_t kMaxCapacity = 8192;

// Nearest-neighbour downscale to fit `limit`: only for images larger than the
// device can hold, which `repvk classify` (host path) would then see at full size.
Image fit(const Image& img, uint32_t limit) {
  const double s = double(limit) / double(std::max(img.width, img.height));
  Image out;
  out.width = std::max(1u, uint32_t(img.width * s));
  out.height = std::max(1u, uint32_t(img.height * s));
  out.channels = img.channels;
  out.pixels.resize(size_t(out.width) * out.height * out.channels);
  for (uint32_t y = 0; y < out.height; ++y)
    for (uint32_t x = 0; x < out.width; ++x) {
      const uint32_t sx = std::min(img.width - 1, uint32_t(x / s));
      const uint32_t sy = std::min(img.height - 1, uint32_t(y / s));
      std::memcpy(&out.pixels[(size_t(y) * out.width + x) * out.channels],
                  &img.pixels[(size_t(sy) * img.width + sx) * img.channels], out.channels);
    }
  return out;
}

}  // namespace

Texture::Texture(VulkanContext& ctx, const Device& engine) : ctx_(ctx), engine_(engine) {}

Texture::~Texture() {
  destroy_image();
  if (staging_map_) vkUnmapMemory(ctx_.device, staging_memory_);
  vkDestroyBuffer(ctx_.device, staging_, nullptr);
  vkFreeMemory(ctx_.device, staging_memory_, nullptr);
}

void Texture::destroy_image() {
  vkDestroyImageView(ctx_.device, view_, nullptr);
  vkDestroyImage(ctx_.device, image_, nullptr);
  vkFreeMemory(ctx_.device, memory_, nullptr);
  view_ = VK_NULL_HANDLE;
  image_ = VK_NULL_HANDLE;
  memory_ = VK_NULL_HANDLE;
}

void Texture::create_image(uint32_t capacity) {
  VkImageCreateInfo ci{VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
  ci.imageType = VK_IMAGE_TYPE_2D;
  ci.format = VK_FORMAT_R8G8B8A8_UNORM;  // stored codes: the model sees what the file holds
  ci.extent = {capacity, capacity, 1};
  ci.mipLevels = 1;
  ci.arrayLayers = 1;
  ci.samples = VK_SAMPLE_COUNT_1_BIT;
  ci.tiling = VK_IMAGE_TILING_OPTIMAL;
  ci.usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
  ci.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
  vk_check(vkCreateImage(ctx_.device, &ci, nullptr, &image_), "vkCreateImage (texture)");
  VkMemoryRequirements req{};
  vkGetImageMemoryRequirements(ctx_.device, image_, &req);
  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex =
      memory_type(engine_, req.memoryTypeBits, 0, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  vk_check(vkAllocateMemory(ctx_.device, &ai, nullptr, &memory_), "vkAllocateMemory (texture)");
  vk_check(vkBindImageMemory(ctx_.device, image_, memory_, 0), "vkBindImageMemory");
  VkImageViewCreateInfo vci{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
  vci.image = image_;
  vci.viewType = VK_IMAGE_VIEW_TYPE_2D;
  vci.format = ci.format;
  vci.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
  vk_check(vkCreateImageView(ctx_.device, &vci, nullptr, &view_), "vkCreateImageView");
  capacity_ = capacity;
  initialized_ = false;
  uploaded_ = false;

  const VkDeviceSize bytes = VkDeviceSize(capacity) * capacity * 4;
  if (bytes <= staging_size_) return;
  if (staging_map_) vkUnmapMemory(ctx_.device, staging_memory_);
  vkDestroyBuffer(ctx_.device, staging_, nullptr);
  vkFreeMemory(ctx_.device, staging_memory_, nullptr);
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = bytes;
  bci.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
  vk_check(vkCreateBuffer(ctx_.device, &bci, nullptr, &staging_), "vkCreateBuffer (staging)");
  vkGetBufferMemoryRequirements(ctx_.device, staging_, &req);
  ai.allocationSize = req.size;
  ai.memoryTypeIndex =
      memory_type(engine_, req.memoryTypeBits,
                  VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  vk_check(vkAllocateMemory(ctx_.device, &ai, nullptr, &staging_memory_),
           "vkAllocateMemory (staging)");
  vk_check(vkBindBufferMemory(ctx_.device, staging_, staging_memory_, 0), "vkBindBufferMemory");
  vk_check(vkMapMemory(ctx_.device, staging_memory_, 0, VK_WHOLE_SIZE, 0, &staging_map_),
           "vkMapMemory");
  staging_size_ = bytes;
}

bool Texture::set(const Image& original) {
  if (original.width == 0 || original.height == 0 || original.channels == 0 ||
      original.channels > 4)
    throw Error("cannot display an image of " + std::to_string(original.width) + "x" +
                std::to_string(original.height) + "x" + std::to_string(original.channels));
  const uint32_t limit = std::min(ctx_.limits.maxImageDimension2D, kMaxCapacity);
  note_.clear();
  Image scaled;
  const Image* img = &original;
  if (std::max(original.width, original.height) > limit) {
    scaled = fit(original, limit);
    img = &scaled;
    note_ = "scaled down from " + std::to_string(original.width) + "x" +
            std::to_string(original.height) + " to fit the GPU texture";
  }
  uint32_t need = kMinCapacity;
  while (need < std::max(img->width, img->height)) need *= 2;
  need = std::min(need, limit);
  bool replaced = false;
  if (need > capacity_) {
    // The new image exists before the old one is destroyed, so the new view can never
    // reuse the old view's handle value (which would hide the change from repvk).
    VkImage old_image = image_;
    VkImageView old_view = view_;
    VkDeviceMemory old_memory = memory_;
    create_image(need);
    vkDestroyImageView(ctx_.device, old_view, nullptr);
    vkDestroyImage(ctx_.device, old_image, nullptr);
    vkFreeMemory(ctx_.device, old_memory, nullptr);
    replaced = true;
  }
  // Expand to RGBA; gray is replicated so it displays as gray, and the engine reads
  // only R for it (input().channels), exactly as the host path reads the file.
  auto* dst = static_cast<uint8_t*>(staging_map_);
  const uint32_t c = img->channels;
  for (size_t i = 0; i < size_t(img->width) * img->height; ++i) {
    const uint8_t* p = &img->pixels[i * c];
    uint8_t* q = dst + i * 4;
    q[0] = p[0];
    q[1] = c >= 3 ? p[1] : p[0];
    q[2] = c >= 3 ? p[2] : p[0];
    q[3] = c == 4 ? p[3] : c == 2 ? p[1] : 255;
  }
  width_ = img->width;
  height_ = img->height;
  channels_ = c;
  pending_ = true;
  return replaced;
}

void Texture::record_upload(VkCommandBuffer cmd) {
  if (!pending_) return;
  VkImageMemoryBarrier b{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
  b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.image = image_;
  b.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
  // Earlier frames' reads (display and classification) before the overwrite.
  b.oldLayout = initialized_ ? VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL : VK_IMAGE_LAYOUT_UNDEFINED;
  b.newLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
  b.srcAccessMask = 0;
  b.dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  vkCmdPipelineBarrier(cmd,
                       VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, nullptr, 0, nullptr, 1, &b);
  VkBufferImageCopy region{};
  region.bufferRowLength = width_;
  region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
  region.imageExtent = {width_, height_, 1};
  vkCmdCopyBufferToImage(cmd, staging_, image_, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
  b.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
  b.newLayout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
  b.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  b.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       0, 0, nullptr, 0, nullptr, 1, &b);
  initialized_ = true;
  uploaded_ = true;
  pending_ = false;
}

ImageInput Texture::input() const {
  ImageInput in;
  in.view = view_;
  in.layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
  in.width = capacity_;
  in.height = capacity_;
  in.channels = channels_;
  in.region = {{0, 0}, {width_, height_}};
  in.image = image_;  // repvk then records the barrier that makes the upload visible to it
  return in;
}

}  // namespace repvk::demo
