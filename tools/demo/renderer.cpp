// SPDX-License-Identifier: MIT
#include "renderer.h"

#include <algorithm>
#include <cstring>
#include <mutex>

#include <imgui.h>
#include <imgui_impl_vulkan.h>

#include "repvk/error.h"
#include "vk_context.h"
#include "window.h"

// SPIR-V of tools/demo/shaders/display_image.{vert,frag}, compiled and validated at build time
// by cmake/EmbedSpirv.cmake.
namespace repvk::shaders {
extern const uint32_t spv_display_image_vert[];
extern const size_t spv_display_image_vert_words;
extern const uint32_t spv_display_image_frag[];
extern const size_t spv_display_image_frag_words;
}  // namespace repvk::shaders

namespace repvk::demo {

namespace {

void imgui_check(VkResult r) {
  if (r != VK_SUCCESS) throw VulkanError(r, "Dear ImGui's Vulkan backend");
}

// Must match the push_constant block of tools/demo/shaders/display_image.frag: the
// image's extent inside the (possibly larger) texture, as an ivec2.
struct DisplayPush {
  int32_t width, height;
};
static_assert(sizeof(DisplayPush) == 8,
              "tools/demo/shaders/display_image.frag: 8 bytes of push constants");

VkShaderModule shader_module(VkDevice dev, const uint32_t* code, size_t words) {
  VkShaderModuleCreateInfo ci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  ci.codeSize = words * 4;
  ci.pCode = code;
  VkShaderModule m = VK_NULL_HANDLE;
  vk_check(vkCreateShaderModule(dev, &ci, nullptr, &m), "vkCreateShaderModule");
  return m;
}

}  // namespace

Renderer::Renderer(VulkanContext& ctx, const Device& engine, Window& window, bool capture)
    : ctx_(ctx), engine_(engine), window_(window), capture_enabled_(capture) {
  VkDevice dev = ctx.device;
  swapchain_ = std::make_unique<Swapchain>(ctx, capture);
  texture_ = std::make_unique<Texture>(ctx, engine);
  create_render_pass();
  uint32_t w = 0, h = 0;
  window.framebuffer_size(w, h);
  swapchain_->create(std::max(w, 1u), std::max(h, 1u), render_pass_);
  window.resized = false;
  for (Slot& s : slots_) {
    VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pci.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
    // The graphics family is also the engine's compute family (vk_context.h), so
    // the engine may record into these command buffers.
    pci.queueFamilyIndex = ctx.graphics_family;
    vk_check(vkCreateCommandPool(dev, &pci, nullptr, &s.pool), "vkCreateCommandPool");
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = s.pool;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    vk_check(vkAllocateCommandBuffers(dev, &ai, &s.cmd), "vkAllocateCommandBuffers");
    VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    fci.flags = VK_FENCE_CREATE_SIGNALED_BIT;
    vk_check(vkCreateFence(dev, &fci, nullptr, &s.fence), "vkCreateFence");
    VkSemaphoreCreateInfo sci{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    vk_check(vkCreateSemaphore(dev, &sci, nullptr, &s.acquired), "vkCreateSemaphore");
  }
  create_pipeline();
  init_imgui();
}

Renderer::~Renderer() {
  VkDevice dev = ctx_.device;
  {
    std::lock_guard<std::mutex> lock(ctx_.queue_mutex);
    vkDeviceWaitIdle(dev);
  }
  if (imgui_ready_) ImGui_ImplVulkan_Shutdown();
  vkDestroyPipeline(dev, pipeline_, nullptr);
  vkDestroyPipelineLayout(dev, layout_, nullptr);
  vkDestroySampler(dev, sampler_, nullptr);
  vkDestroyDescriptorPool(dev, pool_, nullptr);
  vkDestroyDescriptorSetLayout(dev, set_layout_, nullptr);
  for (Slot& s : slots_) {
    vkDestroySemaphore(dev, s.acquired, nullptr);
    vkDestroyFence(dev, s.fence, nullptr);
    vkDestroyCommandPool(dev, s.pool, nullptr);
  }
  vkDestroyBuffer(dev, readback_, nullptr);
  vkFreeMemory(dev, readback_memory_, nullptr);
  texture_.reset();
  swapchain_.reset();
  vkDestroyRenderPass(dev, render_pass_, nullptr);
}

void Renderer::create_render_pass() {
  VkAttachmentDescription color{};
  color.format = swapchain_->format();
  color.samples = VK_SAMPLE_COUNT_1_BIT;
  color.loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR;
  color.storeOp = VK_ATTACHMENT_STORE_OP_STORE;
  color.stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE;
  color.stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
  color.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
  color.finalLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
  VkAttachmentReference ref{0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
  VkSubpassDescription subpass{};
  subpass.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS;
  subpass.colorAttachmentCount = 1;
  subpass.pColorAttachments = &ref;
  // The acquire semaphore is waited at COLOR_ATTACHMENT_OUTPUT: the layout
  // transition and the clear must come after it.
  VkSubpassDependency dep{};
  dep.srcSubpass = VK_SUBPASS_EXTERNAL;
  dep.dstSubpass = 0;
  dep.srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  dep.dstStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  dep.srcAccessMask = 0;
  dep.dstAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
  VkRenderPassCreateInfo rci{VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO};
  rci.attachmentCount = 1;
  rci.pAttachments = &color;
  rci.subpassCount = 1;
  rci.pSubpasses = &subpass;
  rci.dependencyCount = 1;
  rci.pDependencies = &dep;
  vk_check(vkCreateRenderPass(ctx_.device, &rci, nullptr, &render_pass_), "vkCreateRenderPass");
}

void Renderer::create_pipeline() {
  VkDevice dev = ctx_.device;
  VkDescriptorSetLayoutBinding binding{};
  binding.binding = 0;
  binding.descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
  binding.descriptorCount = 1;
  binding.stageFlags = VK_SHADER_STAGE_FRAGMENT_BIT;
  VkDescriptorSetLayoutCreateInfo lci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  lci.bindingCount = 1;
  lci.pBindings = &binding;
  vk_check(vkCreateDescriptorSetLayout(dev, &lci, nullptr, &set_layout_),
           "vkCreateDescriptorSetLayout");
  // One set for the image, a few for ImGui (its font texture).
  VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 8};
  VkDescriptorPoolCreateInfo pci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  pci.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
  pci.maxSets = 8;
  pci.poolSizeCount = 1;
  pci.pPoolSizes = &size;
  vk_check(vkCreateDescriptorPool(dev, &pci, nullptr, &pool_), "vkCreateDescriptorPool");
  VkDescriptorSetAllocateInfo dai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  dai.descriptorPool = pool_;
  dai.descriptorSetCount = 1;
  dai.pSetLayouts = &set_layout_;
  vk_check(vkAllocateDescriptorSets(dev, &dai, &set_), "vkAllocateDescriptorSets");
  // The shader uses texelFetch, so the sampler's filter never applies; nearest anyway.
  VkSamplerCreateInfo sci{VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO};
  sci.magFilter = sci.minFilter = VK_FILTER_NEAREST;
  sci.mipmapMode = VK_SAMPLER_MIPMAP_MODE_NEAREST;
  sci.addressModeU = sci.addressModeV = sci.addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE;
  vk_check(vkCreateSampler(dev, &sci, nullptr, &sampler_), "vkCreateSampler");

  VkPushConstantRange push{VK_SHADER_STAGE_FRAGMENT_BIT, 0, sizeof(DisplayPush)};
  VkPipelineLayoutCreateInfo plci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  plci.setLayoutCount = 1;
  plci.pSetLayouts = &set_layout_;
  plci.pushConstantRangeCount = 1;
  plci.pPushConstantRanges = &push;
  vk_check(vkCreatePipelineLayout(dev, &plci, nullptr, &layout_), "vkCreatePipelineLayout");

  VkShaderModule vert =
      shader_module(dev, shaders::spv_display_image_vert, shaders::spv_display_image_vert_words);
  VkShaderModule frag =
      shader_module(dev, shaders::spv_display_image_frag, shaders::spv_display_image_frag_words);
  VkPipelineShaderStageCreateInfo stages[2]{};
  for (auto& s : stages) {
    s.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    s.pName = "main";
  }
  stages[0].stage = VK_SHADER_STAGE_VERTEX_BIT;
  stages[0].module = vert;
  stages[1].stage = VK_SHADER_STAGE_FRAGMENT_BIT;
  stages[1].module = frag;
  VkPipelineVertexInputStateCreateInfo vi{VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO};
  VkPipelineInputAssemblyStateCreateInfo ia{
      VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO};
  ia.topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST;
  VkPipelineViewportStateCreateInfo vp{VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO};
  vp.viewportCount = 1;
  vp.scissorCount = 1;
  VkPipelineRasterizationStateCreateInfo rs{
      VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO};
  rs.polygonMode = VK_POLYGON_MODE_FILL;
  rs.cullMode = VK_CULL_MODE_NONE;
  rs.lineWidth = 1.0f;
  VkPipelineMultisampleStateCreateInfo ms{VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO};
  ms.rasterizationSamples = VK_SAMPLE_COUNT_1_BIT;
  VkPipelineColorBlendAttachmentState blend{};
  blend.colorWriteMask = VK_COLOR_COMPONENT_R_BIT | VK_COLOR_COMPONENT_G_BIT |
                         VK_COLOR_COMPONENT_B_BIT | VK_COLOR_COMPONENT_A_BIT;
  VkPipelineColorBlendStateCreateInfo cb{VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO};
  cb.attachmentCount = 1;
  cb.pAttachments = &blend;
  // Viewport and scissor change with the window and the image's aspect every frame.
  const VkDynamicState dyn_states[2] = {VK_DYNAMIC_STATE_VIEWPORT, VK_DYNAMIC_STATE_SCISSOR};
  VkPipelineDynamicStateCreateInfo dyn{VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO};
  dyn.dynamicStateCount = 2;
  dyn.pDynamicStates = dyn_states;
  VkGraphicsPipelineCreateInfo gci{VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO};
  gci.stageCount = 2;
  gci.pStages = stages;
  gci.pVertexInputState = &vi;
  gci.pInputAssemblyState = &ia;
  gci.pViewportState = &vp;
  gci.pRasterizationState = &rs;
  gci.pMultisampleState = &ms;
  gci.pColorBlendState = &cb;
  gci.pDynamicState = &dyn;
  gci.layout = layout_;
  gci.renderPass = render_pass_;
  const VkResult r = vkCreateGraphicsPipelines(dev, VK_NULL_HANDLE, 1, &gci, nullptr, &pipeline_);
  vkDestroyShaderModule(dev, vert, nullptr);
  vkDestroyShaderModule(dev, frag, nullptr);
  vk_check(r, "vkCreateGraphicsPipelines (image display)");
}

void Renderer::init_imgui() {
  ImGui_ImplVulkan_InitInfo info{};
  info.Instance = ctx_.instance;
  info.PhysicalDevice = ctx_.physical;
  info.Device = ctx_.device;
  info.QueueFamily = ctx_.graphics_family;
  info.Queue = ctx_.graphics_queue;
  info.DescriptorPool = pool_;
  info.Subpass = 0;
  // ImGui keeps one vertex buffer per image and cycles through them, which is
  // safe because there are never more frames in flight than swapchain images.
  info.MinImageCount = swapchain_->min_image_count();
  info.ImageCount = std::max(swapchain_->image_count(), kFramesInFlight);
  info.MSAASamples = VK_SAMPLE_COUNT_1_BIT;
  info.CheckVkResultFn = &imgui_check;
  if (!ImGui_ImplVulkan_Init(&info, render_pass_))
    throw Error("Dear ImGui's Vulkan backend failed to initialize");
  imgui_ready_ = true;

  // The font atlas upload is a one-off submission on the graphics queue.
  Slot& s = slots_[0];
  vk_check(vkResetCommandPool(ctx_.device, s.pool, 0), "vkResetCommandPool");
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vk_check(vkBeginCommandBuffer(s.cmd, &bi), "vkBeginCommandBuffer");
  ImGui_ImplVulkan_CreateFontsTexture(s.cmd);
  vk_check(vkEndCommandBuffer(s.cmd), "vkEndCommandBuffer");
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &s.cmd;
  {
    std::lock_guard<std::mutex> lock(ctx_.queue_mutex);
    vk_check(vkQueueSubmit(ctx_.graphics_queue, 1, &si, VK_NULL_HANDLE), "vkQueueSubmit");
    vk_check(vkQueueWaitIdle(ctx_.graphics_queue), "vkQueueWaitIdle");
  }
  ImGui_ImplVulkan_DestroyFontUploadObjects();
}

void Renderer::recreate_swapchain() {
  uint32_t w = 0, h = 0;
  window_.framebuffer_size(w, h);
  if (w == 0 || h == 0) return;  // minimized: keep the old one until there is a size
  {
    // The old images may still be read by the presentation engine, which waits on
    // their semaphores: idle the device, not only our frames.
    std::lock_guard<std::mutex> lock(ctx_.queue_mutex);
    vk_check(vkDeviceWaitIdle(ctx_.device), "vkDeviceWaitIdle");
  }
  const uint32_t old_min = swapchain_->min_image_count();
  swapchain_->create(w, h, render_pass_);
  if (swapchain_->min_image_count() != old_min)
    ImGui_ImplVulkan_SetMinImageCount(swapchain_->min_image_count());
  window_.resized = false;
}

VkCommandBuffer Renderer::begin_frame() {
  uint32_t w = 0, h = 0;
  window_.framebuffer_size(w, h);
  if (w == 0 || h == 0) return VK_NULL_HANDLE;
  const VkExtent2D e = swapchain_->extent();
  if (window_.resized || w != e.width || h != e.height) recreate_swapchain();

  Slot& s = slots_[frame_ % kFramesInFlight];
  vk_check(vkWaitForFences(ctx_.device, 1, &s.fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  const VkResult r = vkAcquireNextImageKHR(ctx_.device, swapchain_->handle(), UINT64_MAX,
                                           s.acquired, VK_NULL_HANDLE, &image_index_);
  if (r == VK_ERROR_OUT_OF_DATE_KHR) {
    recreate_swapchain();
    return VK_NULL_HANDLE;
  }
  if (r != VK_SUCCESS && r != VK_SUBOPTIMAL_KHR) vk_check(r, "vkAcquireNextImageKHR");
  // Only now: a frame that is not submitted must leave its fence signalled.
  vk_check(vkResetFences(ctx_.device, 1, &s.fence), "vkResetFences");
  s.frame = ++frame_;
  vk_check(vkResetCommandPool(ctx_.device, s.pool, 0), "vkResetCommandPool");
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vk_check(vkBeginCommandBuffer(s.cmd, &bi), "vkBeginCommandBuffer");
  recording_ = true;
  return s.cmd;
}

void Renderer::end_frame(ImDrawData* ui, const Rect& area, Capture* capture) {
  if (!recording_) throw Error("Renderer::end_frame without begin_frame");
  Slot& s = slots_[(frame_ - 1) % kFramesInFlight];
  VkCommandBuffer cmd = s.cmd;
  const VkExtent2D extent = swapchain_->extent();

  VkClearValue clear{};
  clear.color = {{0.09f, 0.09f, 0.10f, 1.0f}};
  VkRenderPassBeginInfo rbi{VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO};
  rbi.renderPass = render_pass_;
  rbi.framebuffer = swapchain_->framebuffer(image_index_);
  rbi.renderArea = {{0, 0}, extent};
  rbi.clearValueCount = 1;
  rbi.pClearValues = &clear;
  vkCmdBeginRenderPass(cmd, &rbi, VK_SUBPASS_CONTENTS_INLINE);

  if (texture_->has_content() && area.width >= 1 && area.height >= 1) {
    // Largest rectangle of the image's aspect inside the area, centred.
    const float iw = float(texture_->width()), ih = float(texture_->height());
    const float scale = std::min(area.width / iw, area.height / ih);
    VkViewport vp{};
    vp.width = std::max(1.0f, iw * scale);
    vp.height = std::max(1.0f, ih * scale);
    vp.x = area.x + (area.width - vp.width) * 0.5f;
    vp.y = area.y + (area.height - vp.height) * 0.5f;
    vp.maxDepth = 1.0f;
    VkRect2D scissor{};
    scissor.offset = {int32_t(std::max(0.0f, vp.x)), int32_t(std::max(0.0f, vp.y))};
    scissor.extent = {std::min(uint32_t(vp.width + 1), extent.width - uint32_t(scissor.offset.x)),
                      std::min(uint32_t(vp.height + 1), extent.height - uint32_t(scissor.offset.y))};
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, pipeline_);
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, layout_, 0, 1, &set_, 0,
                            nullptr);
    vkCmdSetViewport(cmd, 0, 1, &vp);
    vkCmdSetScissor(cmd, 0, 1, &scissor);
    const DisplayPush pc{int32_t(texture_->width()), int32_t(texture_->height())};
    vkCmdPushConstants(cmd, layout_, VK_SHADER_STAGE_FRAGMENT_BIT, 0, sizeof pc, &pc);
    vkCmdDraw(cmd, 3, 1, 0, 0);
  }
  if (ui) ImGui_ImplVulkan_RenderDrawData(ui, cmd);
  vkCmdEndRenderPass(cmd);
  if (capture) record_capture_copy(cmd, image_index_);
  vk_check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
  recording_ = false;

  const VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  VkSemaphore rendered = swapchain_->rendered(image_index_);
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.waitSemaphoreCount = 1;
  si.pWaitSemaphores = &s.acquired;
  si.pWaitDstStageMask = &wait_stage;
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd;
  si.signalSemaphoreCount = 1;
  si.pSignalSemaphores = &rendered;
  VkSwapchainKHR swapchain = swapchain_->handle();
  VkPresentInfoKHR pi{VK_STRUCTURE_TYPE_PRESENT_INFO_KHR};
  pi.waitSemaphoreCount = 1;
  pi.pWaitSemaphores = &rendered;
  pi.swapchainCount = 1;
  pi.pSwapchains = &swapchain;
  pi.pImageIndices = &image_index_;
  VkResult present = VK_SUCCESS;
  {
    std::lock_guard<std::mutex> lock(ctx_.queue_mutex);
    vk_check(vkQueueSubmit(ctx_.graphics_queue, 1, &si, s.fence), "vkQueueSubmit (frame)");
    present = vkQueuePresentKHR(ctx_.present_queue, &pi);
  }
  if (present == VK_ERROR_OUT_OF_DATE_KHR || present == VK_SUBOPTIMAL_KHR)
    window_.resized = true;  // recreated at the start of the next frame
  else
    vk_check(present, "vkQueuePresentKHR");

  if (capture) {
    vk_check(vkWaitForFences(ctx_.device, 1, &s.fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
    *capture = read_capture();
  }
}

bool Renderer::frame_complete(uint64_t frame) {
  if (frame == 0 || frame > frame_) return false;
  const Slot& s = slots_[(frame - 1) % kFramesInFlight];
  // The slot moved on to a later frame only after waiting for this one.
  if (s.frame != frame) return true;
  if (recording_ && frame == frame_) return false;
  return vkGetFenceStatus(ctx_.device, s.fence) == VK_SUCCESS;
}

void Renderer::wait_frames() {
  if (recording_) throw Error("Renderer::wait_frames while a frame is being recorded");
  VkFence fences[kFramesInFlight];
  for (uint32_t i = 0; i < kFramesInFlight; ++i) fences[i] = slots_[i].fence;
  vk_check(vkWaitForFences(ctx_.device, kFramesInFlight, fences, VK_TRUE, UINT64_MAX),
           "vkWaitForFences");
}

void Renderer::texture_replaced() {
  VkDescriptorImageInfo ii{sampler_, texture_->view(), VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL};
  VkWriteDescriptorSet w{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
  w.dstSet = set_;
  w.dstBinding = 0;
  w.descriptorCount = 1;
  w.descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
  w.pImageInfo = &ii;
  vkUpdateDescriptorSets(ctx_.device, 1, &w, 0, nullptr);
}

void Renderer::record_capture_copy(VkCommandBuffer cmd, uint32_t image) {
  const VkExtent2D e = swapchain_->extent();
  const VkDeviceSize bytes = VkDeviceSize(e.width) * e.height * 4;
  if (bytes > readback_size_) {
    vkDestroyBuffer(ctx_.device, readback_, nullptr);
    vkFreeMemory(ctx_.device, readback_memory_, nullptr);
    VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bci.size = bytes;
    bci.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    vk_check(vkCreateBuffer(ctx_.device, &bci, nullptr, &readback_), "vkCreateBuffer (capture)");
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(ctx_.device, readback_, &req);
    VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    ai.allocationSize = req.size;
    ai.memoryTypeIndex = memory_type(
        engine_, req.memoryTypeBits,
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
        VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
    vk_check(vkAllocateMemory(ctx_.device, &ai, nullptr, &readback_memory_),
             "vkAllocateMemory (capture)");
    vk_check(vkBindBufferMemory(ctx_.device, readback_, readback_memory_, 0), "vkBindBufferMemory");
    readback_size_ = bytes;
  }
  VkImageMemoryBarrier b{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
  b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.image = swapchain_->image(image);
  b.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
  b.oldLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
  b.newLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
  b.srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
  b.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
                       VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, nullptr, 0, nullptr, 1, &b);
  VkBufferImageCopy region{};
  region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
  region.imageExtent = {e.width, e.height, 1};
  vkCmdCopyImageToBuffer(cmd, b.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, readback_, 1, &region);
  b.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
  b.newLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
  b.srcAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
  b.dstAccessMask = 0;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT,
                       0, 0, nullptr, 0, nullptr, 1, &b);
  VkBufferMemoryBarrier host{VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER};
  host.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  host.srcQueueFamilyIndex = host.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  host.buffer = readback_;
  host.size = VK_WHOLE_SIZE;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 0,
                       nullptr, 1, &host, 0, nullptr);
}

Capture Renderer::read_capture() {
  const VkExtent2D e = swapchain_->extent();
  Capture c;
  c.width = e.width;
  c.height = e.height;
  c.rgba.resize(size_t(e.width) * e.height * 4);
  void* map = nullptr;
  vk_check(vkMapMemory(ctx_.device, readback_memory_, 0, VK_WHOLE_SIZE, 0, &map), "vkMapMemory");
  std::memcpy(c.rgba.data(), map, c.rgba.size());
  vkUnmapMemory(ctx_.device, readback_memory_);
  const bool bgra = swapchain_->format() == VK_FORMAT_B8G8R8A8_UNORM;
  for (size_t i = 0; i < c.rgba.size(); i += 4) {
    if (bgra) std::swap(c.rgba[i], c.rgba[i + 2]);
    c.rgba[i + 3] = 255;  // the window is opaque whatever the alpha channel holds
  }
  return c;
}

}  // namespace repvk::demo
