// SPDX-License-Identifier: MIT
// The application's side of device sharing: repvk-demo creates the Vulkan instance,
// picks a device that can present to its window, and creates the VkDevice with a
// graphics+compute queue (and a present queue, which may be of another family).
// The engine later adopts these handles (classifier.h); it never creates its own.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include <vulkan/vulkan.h>

struct GLFWwindow;

namespace repvk {
class Device;
}

namespace repvk::demo {

struct ContextOptions {
  // The demo's main() has already merged the environment (REPVK_DEVICE,
  // REPVK_VALIDATION, REPVK_FORCE_FP32) into these.
  std::string device;       // as `repvk --device`: index or name substring ("" = best)
  bool validation = false;  // VK_LAYER_KHRONOS_validation + a messenger that counts
  bool fp32 = false;        // never enable fp16 features
  // Where validation messages are counted; it must outlive the context, so that
  // messages about the context's own destruction are counted too. Null: internal.
  std::atomic<uint64_t>* message_counter = nullptr;
};

class VulkanContext {
 public:
  // Creates the instance, the window's surface, and the device. Throws repvk::Error
  // with a message naming what is missing (layer, presentable device, queue).
  VulkanContext(const ContextOptions& options, GLFWwindow* window);
  ~VulkanContext();
  VulkanContext(const VulkanContext&) = delete;
  VulkanContext& operator=(const VulkanContext&) = delete;

  VkInstance instance = VK_NULL_HANDLE;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkSurfaceKHR surface = VK_NULL_HANDLE;
  // Graphics and compute: renders the frame and runs the engine's dispatches, so the
  // engine records into the frame's command buffer without any ownership transfer.
  uint32_t graphics_family = 0;
  VkQueue graphics_queue = VK_NULL_HANDLE;
  uint32_t present_family = 0;  // == graphics_family on most devices
  VkQueue present_queue = VK_NULL_HANDLE;
  // Held around every vkQueueSubmit/vkQueuePresentKHR, by the demo and by repvk.
  std::mutex queue_mutex;

  bool storage16_enabled = false;  // storageBuffer16BitAccess (fp16 activations)
  bool float16_enabled = false;    // shaderFloat16
  bool storage16_available = false;
  std::string device_name;         // "llvmpipe (...) (cpu)"
  VkPhysicalDeviceLimits limits{};

  // Validation messages received so far (always 0 without validation).
  uint64_t validation_messages() const { return messages_->load(); }

 private:
  void release();
  void create_instance(bool validation);
  void pick_device(const std::string& select);
  void create_device(bool fp32);
  static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT,
                                                   VkDebugUtilsMessageTypeFlagsEXT,
                                                   const VkDebugUtilsMessengerCallbackDataEXT*,
                                                   void*);

  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  std::atomic<uint64_t> own_messages_{0};
  std::atomic<uint64_t>* messages_ = &own_messages_;
};

// The demo's own allocations (texture, staging and capture buffers) pick their memory
// type with repvk's Device::find_memory_type, on the Device that adopted this context's
// handles (Classifier::device()), so the demo and the engine share one search. A
// memory type with `required` flags (and `preferred` if possible); throws if none.
uint32_t memory_type(const Device& device, uint32_t type_bits, VkMemoryPropertyFlags required,
                     VkMemoryPropertyFlags preferred = 0);

}  // namespace repvk::demo
