// SPDX-License-Identifier: MIT
// An application that embeds repvk the way a renderer would: it creates its own
// instance, device and queue (validation on), hands them to repvk, fills a VkImage
// itself, classifies it on the GPU by recording into its own command buffer, and checks
// the label against repvk's CPU reference. Exit status 0 on success.
#include <repvk/cpu_reference.h>
#include <repvk/device.h>
#include <repvk/error.h>
#include <repvk/model.h>
#include <repvk/network.h>
#include <repvk/synthetic.h>
#include <repvk/version.h>
#include <vulkan/vulkan.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

int g_messages = 0;

VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT,
                                          VkDebugUtilsMessageTypeFlagsEXT,
                                          const VkDebugUtilsMessengerCallbackDataEXT* data, void*) {
  std::fprintf(stderr, "validation: %s\n", data->pMessage ? data->pMessage : "");
  ++g_messages;
  return VK_FALSE;
}

void check(VkResult r, const char* what) {
  if (r != VK_SUCCESS) throw std::runtime_error(std::string(what) + " failed: " + std::to_string(r));
}

struct App {
  VkInstance instance = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t family = UINT32_MAX;
  std::mutex queue_mutex;  // shared with repvk: both submit to `queue`

  App() {
    VkDebugUtilsMessengerCreateInfoEXT mci{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    mci.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                          VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    mci.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                      VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT;
    mci.pfnUserCallback = on_message;
    const char* layer = "VK_LAYER_KHRONOS_validation";
    const char* ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    VkApplicationInfo ai{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    ai.pApplicationName = "repvk-consumer";
    ai.apiVersion = VK_API_VERSION_1_1;
    VkInstanceCreateInfo ici{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ici.pNext = &mci;
    ici.pApplicationInfo = &ai;
    ici.enabledLayerCount = 1;
    ici.ppEnabledLayerNames = &layer;
    ici.enabledExtensionCount = 1;
    ici.ppEnabledExtensionNames = &ext;
    check(vkCreateInstance(&ici, nullptr, &instance), "vkCreateInstance");
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT"));
    check(create(instance, &mci, nullptr, &messenger), "vkCreateDebugUtilsMessengerEXT");

    // A renderer's choice: the first device with a graphics+compute queue family.
    uint32_t count = 0;
    vkEnumeratePhysicalDevices(instance, &count, nullptr);
    std::vector<VkPhysicalDevice> pds(count);
    vkEnumeratePhysicalDevices(instance, &count, pds.data());
    for (VkPhysicalDevice pd : pds) {
      uint32_t n = 0;
      vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, nullptr);
      std::vector<VkQueueFamilyProperties> props(n);
      vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, props.data());
      for (uint32_t i = 0; i < n && family == UINT32_MAX; ++i)
        if ((props[i].queueFlags & VK_QUEUE_GRAPHICS_BIT) && (props[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) {
          physical = pd;
          family = i;
        }
      if (physical) break;
    }
    if (!physical) throw std::runtime_error("no device with a graphics+compute queue");
    const float priority = 1.0f;
    VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    qci.queueFamilyIndex = family;
    qci.queueCount = 1;
    qci.pQueuePriorities = &priority;
    VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    dci.queueCreateInfoCount = 1;
    dci.pQueueCreateInfos = &qci;
    check(vkCreateDevice(physical, &dci, nullptr, &device), "vkCreateDevice");
    vkGetDeviceQueue(device, family, 0, &queue);
  }

  ~App() {
    vkDestroyDevice(device, nullptr);
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT"));
    destroy(instance, messenger, nullptr);
    vkDestroyInstance(instance, nullptr);
  }

  uint32_t memory_type(uint32_t bits, VkMemoryPropertyFlags flags) const {
    VkPhysicalDeviceMemoryProperties mp{};
    vkGetPhysicalDeviceMemoryProperties(physical, &mp);
    for (uint32_t i = 0; i < mp.memoryTypeCount; ++i)
      if ((bits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & flags) == flags) return i;
    throw std::runtime_error("no memory type");
  }
};

// The "known image": a colored diagonal gradient with a bright square, RGBA8.
repvk::Image make_picture(uint32_t w, uint32_t h) {
  repvk::Image img;
  img.width = w;
  img.height = h;
  img.channels = 4;
  img.pixels.resize(size_t(w) * h * 4);
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x) {
      uint8_t* p = &img.pixels[(size_t(y) * w + x) * 4];
      const bool square = x > w / 3 && x < w / 2 && y > h / 4 && y < h / 2;
      p[0] = square ? 250 : uint8_t(x * 255 / w);
      p[1] = square ? 240 : uint8_t(y * 255 / h);
      p[2] = uint8_t((x + y) * 3);
      p[3] = 255;
    }
  return img;
}

int run() {
  App app;
  const repvk::Image picture = make_picture(64, 48);

  // The app's texture: created, uploaded and transitioned by the app alone.
  VkImageCreateInfo ci{VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
  ci.imageType = VK_IMAGE_TYPE_2D;
  ci.format = VK_FORMAT_R8G8B8A8_UNORM;
  ci.extent = {picture.width, picture.height, 1};
  ci.mipLevels = ci.arrayLayers = 1;
  ci.samples = VK_SAMPLE_COUNT_1_BIT;
  ci.tiling = VK_IMAGE_TILING_OPTIMAL;
  ci.usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
  VkImage image = VK_NULL_HANDLE;
  check(vkCreateImage(app.device, &ci, nullptr, &image), "vkCreateImage");
  VkMemoryRequirements req{};
  vkGetImageMemoryRequirements(app.device, image, &req);
  VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = app.memory_type(req.memoryTypeBits, 0);
  VkDeviceMemory image_memory = VK_NULL_HANDLE;
  check(vkAllocateMemory(app.device, &mai, nullptr, &image_memory), "vkAllocateMemory");
  check(vkBindImageMemory(app.device, image, image_memory, 0), "vkBindImageMemory");
  VkImageViewCreateInfo vci{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
  vci.image = image;
  vci.viewType = VK_IMAGE_VIEW_TYPE_2D;
  vci.format = ci.format;
  vci.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
  VkImageView view = VK_NULL_HANDLE;
  check(vkCreateImageView(app.device, &vci, nullptr, &view), "vkCreateImageView");

  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = picture.pixels.size();
  bci.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
  VkBuffer staging = VK_NULL_HANDLE;
  check(vkCreateBuffer(app.device, &bci, nullptr, &staging), "vkCreateBuffer");
  vkGetBufferMemoryRequirements(app.device, staging, &req);
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = app.memory_type(
      req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  VkDeviceMemory staging_memory = VK_NULL_HANDLE;
  check(vkAllocateMemory(app.device, &mai, nullptr, &staging_memory), "vkAllocateMemory");
  check(vkBindBufferMemory(app.device, staging, staging_memory, 0), "vkBindBufferMemory");
  void* mapped = nullptr;
  check(vkMapMemory(app.device, staging_memory, 0, VK_WHOLE_SIZE, 0, &mapped), "vkMapMemory");
  std::memcpy(mapped, picture.pixels.data(), picture.pixels.size());

  int status = 0;
  {
    // repvk on the app's device and queue; the app keeps ownership of everything.
    repvk::AdoptedHandles handles;
    handles.instance = app.instance;
    handles.physical_device = app.physical;
    handles.device = app.device;
    handles.queue = app.queue;
    handles.queue_family = app.family;
    handles.queue_mutex = &app.queue_mutex;
    auto device = repvk::Device::adopt(handles);

    repvk::SyntheticConfig cfg = repvk::synthetic_preset("small");
    cfg.in_channels = 3;
    cfg.stage_widths = {8, 8, 16, 16, 32};
    cfg.mean = {0.5f, 0.5f, 0.5f};
    cfg.std = {0.25f, 0.25f, 0.25f};
    const repvk::Model model = repvk::make_synthetic_model(cfg);
    repvk::NetworkOptions options;
    options.pipeline_cache_path = "none";
    repvk::Network network(*device, model, options);

    VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pci.queueFamilyIndex = app.family;
    VkCommandPool pool = VK_NULL_HANDLE;
    check(vkCreateCommandPool(app.device, &pci, nullptr, &pool), "vkCreateCommandPool");
    VkCommandBufferAllocateInfo cai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    cai.commandPool = pool;
    cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    cai.commandBufferCount = 1;
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    check(vkAllocateCommandBuffers(app.device, &cai, &cmd), "vkAllocateCommandBuffers");
    VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    check(vkBeginCommandBuffer(cmd, &begin), "vkBeginCommandBuffer");

    // Upload, then the layout repvk documents: SHADER_READ_ONLY_OPTIMAL, writes
    // visible to the compute stage.
    VkImageMemoryBarrier b{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
    b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    b.image = image;
    b.subresourceRange = vci.subresourceRange;
    b.oldLayout = VK_IMAGE_LAYOUT_UNDEFINED;
    b.newLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
    b.dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0,
                         0, nullptr, 0, nullptr, 1, &b);
    VkBufferImageCopy copy{};
    copy.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
    copy.imageExtent = ci.extent;
    vkCmdCopyBufferToImage(cmd, staging, image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &copy);
    b.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
    b.newLayout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    b.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    b.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         0, 0, nullptr, 0, nullptr, 1, &b);

    repvk::ImageInput input;
    input.view = view;
    input.layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    input.width = picture.width;
    input.height = picture.height;
    input.channels = 4;
    network.record_classify_image(cmd, input);
    check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");

    VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence fence = VK_NULL_HANDLE;
    check(vkCreateFence(app.device, &fci, nullptr, &fence), "vkCreateFence");
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cmd;
    {
      std::lock_guard<std::mutex> lock(app.queue_mutex);
      check(vkQueueSubmit(app.queue, 1, &si, fence), "vkQueueSubmit");
    }
    check(vkWaitForFences(app.device, 1, &fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
    const std::vector<float> gpu = network.read_result();

    const std::vector<float> x = repvk::preprocess(picture, model.input);
    const std::vector<float> cpu = repvk::cpu::forward(model, x.data(), 1);
    const auto gpu_top = repvk::top_k(gpu.data(), network.num_classes(), 1);
    const auto cpu_top = repvk::top_k(cpu.data(), network.num_classes(), 1);
    double worst = 0;
    for (size_t i = 0; i < cpu.size(); ++i) worst = std::fmax(worst, std::fabs(gpu[i] - cpu[i]));
    std::printf("repvk %s on %s: GPU label %u (%s, p=%.4f), CPU label %u, max |dp| %.2g\n",
                REPVK_VERSION_STRING, device->info().name.c_str(), gpu_top[0].label,
                model.class_names[gpu_top[0].label].c_str(), gpu_top[0].probability,
                cpu_top[0].label, worst);
    if (gpu_top[0].label != cpu_top[0].label || !(worst <= 1e-4)) status = 1;

    // The host path, sized: the same image through preprocess + infer, and a batch
    // the input cannot hold refused with repvk::InvalidArgument before any work.
    const std::vector<float> host = network.infer(x, 1);
    for (size_t i = 0; i < cpu.size(); ++i)
      if (!(std::fabs(host[i] - cpu[i]) <= 1e-4)) status = 1;
    try {
      network.infer(x.data(), x.size(), 2);
      status = 1;
    } catch (const repvk::InvalidArgument& e) {
      std::printf("expected: %s\n", e.what());
    }

    // The blocking path on repvk's own command buffer sees the same texture.
    const std::vector<float> again = network.classify_image(input);
    for (size_t i = 0; i < cpu.size(); ++i)
      if (!(std::fabs(again[i] - cpu[i]) <= 1e-4)) status = 1;

    vkDestroyFence(app.device, fence, nullptr);
    vkDestroyCommandPool(app.device, pool, nullptr);
  }
  vkDestroyBuffer(app.device, staging, nullptr);
  vkFreeMemory(app.device, staging_memory, nullptr);
  vkDestroyImageView(app.device, view, nullptr);
  vkDestroyImage(app.device, image, nullptr);
  vkFreeMemory(app.device, image_memory, nullptr);
  return status;
}

}  // namespace

int main() {
  int status = 1;
  try {
    status = run();
  } catch (const repvk::Error& e) {
    std::fprintf(stderr, "repvk error: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  }
  if (g_messages) std::fprintf(stderr, "%d validation message(s)\n", g_messages);
  return status == 0 && g_messages == 0 ? 0 : 1;
}
