// SPDX-License-Identifier: MIT
#include "ops/preprocess_image.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "io/resize_geometry.h"
#include "ops/op_common.h"

namespace repvk {
namespace {

// Must match the push_constant block of shaders/preprocess_image.comp.
struct PreprocessPush {
  uint32_t src_x, src_y, src_w, src_h;
  uint32_t src_channels, srgb_encode;
  float scale_x, scale_y;
  float crop_x, crop_y;
};
static_assert(sizeof(PreprocessPush) == 40, "shaders/preprocess_image.comp: 40 bytes of push constants");

// Specialization constant ids of shaders/preprocess_image.comp: MEAN<c> is
// kSpecMean0 + c and STD<c> is kSpecStd0 + c, for channels c < 4.
enum PreprocessSpec : uint32_t {
  kSpecChannels = 0,
  kSpecHeight = 1,
  kSpecWidth = 2,
  kSpecMean0 = 3,
  kSpecStd0 = 7,
};

constexpr uint32_t kTile = 8;  // local_size_x/y of the shader

uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

VkRect2D effective_region(const ImageInput& image) {
  if (image.region.extent.width == 0 && image.region.extent.height == 0)
    return VkRect2D{{0, 0}, {image.width, image.height}};
  return image.region;
}

bool transfers(uint32_t family, uint32_t own) {
  return family != VK_QUEUE_FAMILY_IGNORED && family != own;
}

}  // namespace

PreprocessImageOp::PreprocessImageOp(Device& device, VkPipelineCache cache, const InputSpec& input,
                                     bool fp16, VkBuffer output)
    : device_(device), in_(input), fp16_(fp16) {
  const std::string op = "preprocess_image";
  if (input.channels < 1 || input.channels > 4 || input.height == 0 || input.width == 0)
    throw Error(op + ": unsupported model input " + std::to_string(input.channels) + "x" +
                std::to_string(input.height) + "x" + std::to_string(input.width));
  if ((!input.mean.empty() && input.mean.size() != input.channels) ||
      (!input.std.empty() && input.std.size() != input.channels))
    throw Error(op + ": mean/std do not match the model's " + std::to_string(input.channels) +
                " input channels");
  if (input.resize != InputResize::Stretch &&
      (input.resize != InputResize::ShorterSideCrop ||
       input.resize_shorter < std::max(input.height, input.width) ||
       input.resize_shorter > ModelLimits::kMaxSpatial))
    throw Error(op + ": invalid model input resize (mode " +
                std::to_string(uint32_t(input.resize)) + ", shorter side " +
                std::to_string(input.resize_shorter) + ")");
  ops::check_fp16(device, op, fp16);
  ops::check_group_count(device, op, 0, ops::ceil_div(input.width, kTile), "input width");
  ops::check_group_count(device, op, 1, ops::ceil_div(input.height, kTile), "input height");

  // Only the model's channels: the shader ignores the rest, and an empty mean/std
  // keeps its defaults (0 and 1).
  std::vector<SpecConstant> spec{
      {kSpecChannels, input.channels}, {kSpecHeight, input.height}, {kSpecWidth, input.width}};
  for (uint32_t c = 0; c < input.mean.size(); ++c)
    spec.push_back({kSpecMean0 + c, float_bits(input.mean[c])});
  for (uint32_t c = 0; c < input.std.size(); ++c)
    spec.push_back({kSpecStd0 + c, float_bits(input.std[c])});
  pipeline_ = std::make_unique<ComputePipeline>(
      device, cache, std::string("preprocess_image_") + ops::act_suffix(fp16),
      std::vector<VkDescriptorType>{VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE,
                                    VK_DESCRIPTOR_TYPE_STORAGE_BUFFER},
      uint32_t(sizeof(PreprocessPush)), spec);

  // Its own pool: the image binding is the only descriptor in the engine that is not
  // a storage buffer, and the only one rewritten after build.
  const VkDescriptorPoolSize sizes[2] = {{VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE, 1},
                                         {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1}};
  VkDescriptorPoolCreateInfo pci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  pci.maxSets = 1;
  pci.poolSizeCount = 2;
  pci.pPoolSizes = sizes;
  vk_check(vkCreateDescriptorPool(device.handle(), &pci, nullptr, &pool_),
           "vkCreateDescriptorPool");
  VkDescriptorSetLayout layout = pipeline_->set_layout();
  VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  ai.descriptorPool = pool_;
  ai.descriptorSetCount = 1;
  ai.pSetLayouts = &layout;
  VkResult r = vkAllocateDescriptorSets(device.handle(), &ai, &set_);
  if (r != VK_SUCCESS) {
    vkDestroyDescriptorPool(device.handle(), pool_, nullptr);
    throw VulkanError(r, "vkAllocateDescriptorSets(preprocess_image)");
  }
  VkDescriptorBufferInfo out{output, 0, VK_WHOLE_SIZE};
  VkWriteDescriptorSet w{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
  w.dstSet = set_;
  w.dstBinding = 1;
  w.descriptorCount = 1;
  w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
  w.pBufferInfo = &out;
  vkUpdateDescriptorSets(device.handle(), 1, &w, 0, nullptr);
}

PreprocessImageOp::~PreprocessImageOp() {
  vkDestroyDescriptorPool(device_.handle(), pool_, nullptr);
}

void PreprocessImageOp::validate(const ImageInput& image) {
  const std::string op = "classify image: ";
  if (image.view == VK_NULL_HANDLE) throw Error(op + "ImageInput::view is null");
  if (image.width == 0 || image.height == 0)
    throw Error(op + "ImageInput has an empty size (" + std::to_string(image.width) + "x" +
                std::to_string(image.height) + ")");
  if (image.channels < 1 || image.channels > 4)
    throw Error(op + "ImageInput::channels must be 1..4, not " + std::to_string(image.channels));
  if (image.layout != VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL &&
      image.layout != VK_IMAGE_LAYOUT_GENERAL)
    throw Error(op + "the image must be in SHADER_READ_ONLY_OPTIMAL or GENERAL layout (got " +
                std::to_string(int(image.layout)) + ")");
  const VkRect2D r = effective_region(image);
  if (r.offset.x < 0 || r.offset.y < 0 || r.extent.width == 0 || r.extent.height == 0 ||
      uint64_t(r.offset.x) + r.extent.width > image.width ||
      uint64_t(r.offset.y) + r.extent.height > image.height)
    throw Error(op + "region " + std::to_string(r.extent.width) + "x" +
                std::to_string(r.extent.height) + "+" + std::to_string(r.offset.x) + "+" +
                std::to_string(r.offset.y) + " is empty or outside the " +
                std::to_string(image.width) + "x" + std::to_string(image.height) + " image");
  const bool transfer = image.acquire_from_queue_family != VK_QUEUE_FAMILY_IGNORED ||
                        image.release_to_queue_family != VK_QUEUE_FAMILY_IGNORED;
  if (image.image == VK_NULL_HANDLE && transfer)
    throw Error(op + "a queue-family ownership transfer needs ImageInput::image");
}

void PreprocessImageOp::bind(const ImageInput& image) {
  validate(image);
  if (image.view == bound_view_ && image.layout == bound_layout_) return;
  VkDescriptorImageInfo info{VK_NULL_HANDLE, image.view, image.layout};
  VkWriteDescriptorSet w{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
  w.dstSet = set_;
  w.dstBinding = 0;
  w.descriptorCount = 1;
  w.descriptorType = VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE;
  w.pImageInfo = &info;
  vkUpdateDescriptorSets(device_.handle(), 1, &w, 0, nullptr);
  bound_view_ = image.view;
  bound_layout_ = image.layout;
}

void PreprocessImageOp::record(VkCommandBuffer cmd, const ImageInput& image) const {
  if (image.view != bound_view_ || image.layout != bound_layout_)
    throw Error("preprocess_image: record() for a view other than the bound one");
  const uint32_t own = device_.queue_family();
  if (image.image != VK_NULL_HANDLE) {
    VkImageMemoryBarrier b{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
    b.oldLayout = b.newLayout = image.layout;
    b.image = image.image;
    b.subresourceRange = image.subresource;
    b.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
    VkPipelineStageFlags src_stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    if (transfers(image.acquire_from_queue_family, own)) {
      // Acquire half: source access is meaningless on this queue; the release on the
      // other family and the semaphore that orders it carry the dependency.
      b.srcQueueFamilyIndex = image.acquire_from_queue_family;
      b.dstQueueFamilyIndex = own;
      b.srcAccessMask = 0;
      src_stage = VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT;
    } else {
      b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
      b.srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT;
    }
    vkCmdPipelineBarrier(cmd, src_stage, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 0, nullptr, 0,
                         nullptr, 1, &b);
  }

  const VkRect2D r = effective_region(image);
  // The model's resize mode applies to the region as repvk::preprocess applies it to
  // a whole decoded image.
  const ResizeGeometry geo = resize_geometry(r.extent.width, r.extent.height, in_);
  const PreprocessPush push{uint32_t(r.offset.x),
                            uint32_t(r.offset.y),
                            r.extent.width,
                            r.extent.height,
                            image.channels,
                            image.srgb ? 1u : 0u,
                            float(geo.scale_x),
                            float(geo.scale_y),
                            float(geo.crop_x),
                            float(geo.crop_y)};
  record_dispatch(cmd, *pipeline_, set_, &push, ops::ceil_div(in_.width, kTile),
                  ops::ceil_div(in_.height, kTile), 1);

  if (image.image != VK_NULL_HANDLE && transfers(image.release_to_queue_family, own)) {
    VkImageMemoryBarrier b{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
    b.oldLayout = b.newLayout = image.layout;
    b.image = image.image;
    b.subresourceRange = image.subresource;
    b.srcAccessMask = 0;  // reads only: nothing to make available
    b.dstAccessMask = 0;
    b.srcQueueFamilyIndex = own;
    b.dstQueueFamilyIndex = image.release_to_queue_family;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, 0, 0, nullptr, 0, nullptr, 1, &b);
  }
}

std::string PreprocessImageOp::name() const {
  return "preprocess_image -> " + std::to_string(in_.channels) + "x" + std::to_string(in_.height) +
         "x" + std::to_string(in_.width) + " " + ops::act_suffix(fp16_);
}

}  // namespace repvk
