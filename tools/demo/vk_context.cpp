// SPDX-License-Identifier: MIT
#include "vk_context.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>

#include "repvk/device.h"
#include "repvk/error.h"

namespace repvk::demo {

namespace {

bool has_layer(const char* name) {
  uint32_t n = 0;
  vkEnumerateInstanceLayerProperties(&n, nullptr);
  std::vector<VkLayerProperties> layers(n);
  vkEnumerateInstanceLayerProperties(&n, layers.data());
  return std::any_of(layers.begin(), layers.end(),
                     [&](const VkLayerProperties& l) { return std::strcmp(l.layerName, name) == 0; });
}

bool has_device_extension(VkPhysicalDevice pd, const char* name) {
  uint32_t n = 0;
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> exts(n);
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, exts.data());
  return std::any_of(exts.begin(), exts.end(), [&](const VkExtensionProperties& e) {
    return std::strcmp(e.extensionName, name) == 0;
  });
}

VkDebugUtilsMessengerCreateInfoEXT messenger_info(void* user,
                                                  PFN_vkDebugUtilsMessengerCallbackEXT cb) {
  VkDebugUtilsMessengerCreateInfoEXT mci{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  mci.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                        VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  mci.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                    VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                    VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  mci.pfnUserCallback = cb;
  mci.pUserData = user;
  return mci;
}

}  // namespace

VKAPI_ATTR VkBool32 VKAPI_CALL VulkanContext::on_message(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT,
    const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  auto* self = static_cast<VulkanContext*>(user);
  self->messages_->fetch_add(1);
  std::fprintf(stderr, "repvk-demo: validation %s: %s: %s\n",
               severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
               data->pMessageIdName ? data->pMessageIdName : "",
               data->pMessage ? data->pMessage : "");
  return VK_FALSE;
}

VulkanContext::VulkanContext(const ContextOptions& options, GLFWwindow* window) {
  if (options.message_counter) messages_ = options.message_counter;
  try {
    create_instance(options.validation);
    vk_check(glfwCreateWindowSurface(instance, window, nullptr, &surface),
             "glfwCreateWindowSurface");
    pick_device(options.device);
    create_device(options.fp32);
  } catch (...) {
    release();  // a throwing constructor runs no destructor
    throw;
  }
}

VulkanContext::~VulkanContext() { release(); }

void VulkanContext::release() {
  if (device) vkDestroyDevice(device, nullptr);
  device = VK_NULL_HANDLE;
  if (surface) vkDestroySurfaceKHR(instance, surface, nullptr);
  surface = VK_NULL_HANDLE;
  if (messenger_) {
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroy) destroy(instance, messenger_, nullptr);
    messenger_ = VK_NULL_HANDLE;
  }
  if (instance) vkDestroyInstance(instance, nullptr);
  instance = VK_NULL_HANDLE;
}

void VulkanContext::create_instance(bool validation) {
  uint32_t glfw_count = 0;
  const char** glfw_exts = glfwGetRequiredInstanceExtensions(&glfw_count);
  if (!glfw_exts)
    throw Error("GLFW found no Vulkan surface extensions for this display (is a Vulkan "
                "driver with window-system support installed?)");
  std::vector<const char*> exts(glfw_exts, glfw_exts + glfw_count);
  std::vector<const char*> layers;
  const char* layer = "VK_LAYER_KHRONOS_validation";
  if (validation) {
    if (!has_layer(layer))
      throw Error("--validation needs VK_LAYER_KHRONOS_validation (Debian: "
                  "vulkan-validationlayers)");
    layers.push_back(layer);
    exts.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "repvk-demo";
  app.apiVersion = VK_API_VERSION_1_1;
  // Chained into instance creation too, so messages from vkCreate/DestroyInstance count.
  VkDebugUtilsMessengerCreateInfoEXT mci = messenger_info(this, &VulkanContext::on_message);
  VkInstanceCreateInfo ici{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ici.pNext = validation ? &mci : nullptr;
  ici.pApplicationInfo = &app;
  ici.enabledLayerCount = static_cast<uint32_t>(layers.size());
  ici.ppEnabledLayerNames = layers.data();
  ici.enabledExtensionCount = static_cast<uint32_t>(exts.size());
  ici.ppEnabledExtensionNames = exts.data();
  vk_check(vkCreateInstance(&ici, nullptr, &instance), "vkCreateInstance");
  if (validation) {
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT"));
    if (!create) throw Error("vkCreateDebugUtilsMessengerEXT is missing");
    vk_check(create(instance, &mci, nullptr, &messenger_), "vkCreateDebugUtilsMessengerEXT");
  }
}

// Candidates are the devices with a graphics+compute family and some family that
// presents to our surface; repvk::choose_device then applies the same rules as the
// CLI (--device index or name, else discrete > integrated > virtual > CPU).
void VulkanContext::pick_device(const std::string& select) {
  uint32_t n = 0;
  vk_check(vkEnumeratePhysicalDevices(instance, &n, nullptr), "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> pds(n);
  vk_check(vkEnumeratePhysicalDevices(instance, &n, pds.data()), "vkEnumeratePhysicalDevices");
  if (n == 0)
    throw Error("no Vulkan device found (on Debian, mesa-vulkan-drivers provides lavapipe)");

  std::vector<PhysicalDeviceInfo> infos(n);
  std::vector<uint32_t> graphics(n, UINT32_MAX), present(n, UINT32_MAX);
  bool any_presents = false;
  for (uint32_t i = 0; i < n; ++i) {
    VkPhysicalDeviceProperties props{};
    vkGetPhysicalDeviceProperties(pds[i], &props);
    infos[i].index = i;
    infos[i].name = props.deviceName;
    infos[i].type = props.deviceType;
    infos[i].api_version = props.apiVersion;
    VkPhysicalDeviceMemoryProperties mem{};
    vkGetPhysicalDeviceMemoryProperties(pds[i], &mem);
    for (uint32_t h = 0; h < mem.memoryHeapCount; ++h)
      if (mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
        infos[i].limits.device_local_bytes =
            std::max<uint64_t>(infos[i].limits.device_local_bytes, mem.memoryHeaps[h].size);
    if (!has_device_extension(pds[i], VK_KHR_SWAPCHAIN_EXTENSION_NAME)) continue;

    uint32_t fc = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pds[i], &fc, nullptr);
    std::vector<VkQueueFamilyProperties> fams(fc);
    vkGetPhysicalDeviceQueueFamilyProperties(pds[i], &fc, fams.data());
    const VkQueueFlags gc = VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT;
    for (uint32_t f = 0; f < fc; ++f) {
      VkBool32 can_present = VK_FALSE;
      vkGetPhysicalDeviceSurfaceSupportKHR(pds[i], f, surface, &can_present);
      const bool is_gc = (fams[f].queueFlags & gc) == gc;
      // One family doing everything avoids a second queue; take it when it exists.
      if (is_gc && can_present) {
        graphics[i] = present[i] = f;
        break;
      }
      if (is_gc && graphics[i] == UINT32_MAX) graphics[i] = f;
      if (can_present && present[i] == UINT32_MAX) present[i] = f;
    }
    if (graphics[i] != UINT32_MAX && present[i] != UINT32_MAX) {
      infos[i].compute_queue_family = graphics[i];
      any_presents = true;
    }
  }
  if (!any_presents)
    throw Error("none of the " + std::to_string(n) +
                " Vulkan device(s) can present to this window (no graphics+compute queue, "
                "no swapchain support, or no queue that presents to the surface)");
  const uint32_t chosen = choose_device(infos, select);
  physical = pds[chosen];
  graphics_family = graphics[chosen];
  present_family = present[chosen];
  VkPhysicalDeviceProperties props{};
  vkGetPhysicalDeviceProperties(physical, &props);
  limits = props.limits;
  device_name = std::string(props.deviceName) + " (" + device_type_name(props.deviceType) + ")";
}

void VulkanContext::create_device(bool fp32) {
  VkPhysicalDevice16BitStorageFeatures storage16{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  features.pNext = &storage16;
  vkGetPhysicalDeviceFeatures2(physical, &features);
  storage16_available = storage16.storageBuffer16BitAccess == VK_TRUE;
  // shaderFloat16 (VK_KHR_shader_float16_int8) is not needed by repvk's fp16 path,
  // which stores half and computes in fp32: 16-bit storage alone is enough.
  VkPhysicalDevice16BitStorageFeatures enable16{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  enable16.storageBuffer16BitAccess = storage16_available && !fp32 ? VK_TRUE : VK_FALSE;
  storage16_enabled = enable16.storageBuffer16BitAccess == VK_TRUE;

  const float priority = 1.0f;
  VkDeviceQueueCreateInfo queues[2]{};
  for (auto& q : queues) {
    q.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    q.queueCount = 1;
    q.pQueuePriorities = &priority;
  }
  queues[0].queueFamilyIndex = graphics_family;
  queues[1].queueFamilyIndex = present_family;
  const char* swapchain_ext = VK_KHR_SWAPCHAIN_EXTENSION_NAME;
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.pNext = &enable16;
  dci.queueCreateInfoCount = graphics_family == present_family ? 1 : 2;
  dci.pQueueCreateInfos = queues;
  dci.enabledExtensionCount = 1;
  dci.ppEnabledExtensionNames = &swapchain_ext;
  vk_check(vkCreateDevice(physical, &dci, nullptr, &device), "vkCreateDevice");
  vkGetDeviceQueue(device, graphics_family, 0, &graphics_queue);
  vkGetDeviceQueue(device, present_family, 0, &present_queue);
}

uint32_t memory_type(const Device& device, uint32_t type_bits, VkMemoryPropertyFlags required,
                     VkMemoryPropertyFlags preferred) {
  const uint32_t type = device.find_memory_type(type_bits, required, preferred);
  if (type == UINT32_MAX) throw Error("no Vulkan memory type with the required properties");
  return type;
}

}  // namespace repvk::demo
