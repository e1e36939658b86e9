// SPDX-License-Identifier: MIT
// Draws each frame: the input image (nearest-neighbour, aspect kept) in the area
// left of the panel, then the ImGui panel, in one render pass on the swapchain image.
// Owns the frames in flight and runs ImGui's Vulkan backend. Work recorded by the
// app between begin_frame() and end_frame() (texture upload, the engine's
// classification) lands in the same command buffer, before the render pass.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <vulkan/vulkan.h>

#include "swapchain.h"
#include "texture.h"

struct ImDrawData;

namespace repvk::demo {

class VulkanContext;
class Window;

struct Rect {
  float x = 0, y = 0, width = 0, height = 0;
};

// A frame copied out of the swapchain (--screenshot): tightly packed RGBA8.
struct Capture {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> rgba;
};

class Renderer {
 public:
  static constexpr uint32_t kFramesInFlight = 2;

  // ImGui's context must exist (Ui); `capture` makes frames copyable (--screenshot).
  // `engine`: repvk's Device over ctx's handles (Classifier::device()); it must outlive this.
  Renderer(VulkanContext& ctx, const Device& engine, Window& window, bool capture);
  ~Renderer();  // waits for every frame, then destroys
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  // Waits for this slot's previous frame, acquires a swapchain image (recreating the
  // swapchain after a resize or when it is out of date) and begins recording.
  // Returns VK_NULL_HANDLE when there is nothing to draw on this time (minimized,
  // or the swapchain was just recreated): call again on the next loop iteration.
  VkCommandBuffer begin_frame();
  // Ends the frame: render pass (image into `image_area`, then the UI), the copy of
  // the finished image when `capture`, submission, presentation. With `capture`
  // it waits for the frame and returns the pixels.
  void end_frame(ImDrawData* ui, const Rect& image_area, Capture* capture = nullptr);

  // Serial number of the frame begun last (1, 2, ...), and whether a frame's
  // submission has completed (used to know when a classification result is ready).
  uint64_t frame_number() const { return frame_; }
  bool frame_complete(uint64_t frame);
  // Blocks until no submitted frame is executing.
  void wait_frames();

  Texture& texture() { return *texture_; }
  // After Texture::set() replaced the image: points the display descriptor at it.
  void texture_replaced();
  VkExtent2D extent() const { return swapchain_->extent(); }

 private:
  struct Slot {
    VkCommandPool pool = VK_NULL_HANDLE;
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    VkSemaphore acquired = VK_NULL_HANDLE;
    uint64_t frame = 0;  // the frame last submitted from this slot
    bool submitted = false;
  };

  void create_render_pass();
  void create_pipeline();
  void init_imgui();
  void recreate_swapchain();
  void record_capture_copy(VkCommandBuffer cmd, uint32_t image);
  Capture read_capture();

  VulkanContext& ctx_;
  const Device& engine_;
  Window& window_;
  bool capture_enabled_ = false;
  VkRenderPass render_pass_ = VK_NULL_HANDLE;
  std::unique_ptr<Swapchain> swapchain_;
  std::unique_ptr<Texture> texture_;
  Slot slots_[kFramesInFlight];
  uint64_t frame_ = 0;
  uint32_t image_index_ = 0;
  bool recording_ = false;

  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkDescriptorPool pool_ = VK_NULL_HANDLE;  // the display set and ImGui's font set
  VkDescriptorSet set_ = VK_NULL_HANDLE;
  VkSampler sampler_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
  bool imgui_ready_ = false;

  VkBuffer readback_ = VK_NULL_HANDLE;
  VkDeviceMemory readback_memory_ = VK_NULL_HANDLE;
  VkDeviceSize readback_size_ = 0;
};

}  // namespace repvk::demo
