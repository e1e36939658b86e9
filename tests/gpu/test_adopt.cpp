// SPDX-License-Identifier: MIT
// Bring-your-own-device: the host application creates instance, device and queue;
// repvk adopts them, works on them, and never destroys them.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "runtime/memory.h"
#include "repvk/device.h"
#include "repvk/error.h"
#include "repvk/network.h"
#include "repvk/repvk.h"
#include "repvk_internal/network_tuning.h"
#include "repvk/synthetic.h"
#include "repvk/cpu_reference.h"

namespace repvk {
namespace {

// A minimal "application": its own validated instance, device and queue.
class App {
 public:
  explicit App(std::vector<std::string>* sink) : messages(*sink) {
    VkDebugUtilsMessengerCreateInfoEXT mci{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    mci.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                          VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    mci.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                      VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT;
    mci.pfnUserCallback = &App::callback;
    mci.pUserData = this;
    const char* layer = "VK_LAYER_KHRONOS_validation";
    const char* ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.apiVersion = VK_API_VERSION_1_1;
    VkInstanceCreateInfo ici{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ici.pNext = &mci;
    ici.pApplicationInfo = &app;
    ici.enabledLayerCount = 1;
    ici.ppEnabledLayerNames = &layer;
    ici.enabledExtensionCount = 1;
    ici.ppEnabledExtensionNames = &ext;
    vk_check(vkCreateInstance(&ici, nullptr, &instance), "app vkCreateInstance");
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT"));
    vk_check(create(instance, &mci, nullptr, &messenger), "app messenger");

    uint32_t count = 1;
    VkResult r = vkEnumeratePhysicalDevices(instance, &count, &physical);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) throw VulkanError(r, "app enumerate");
    uint32_t families = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &families, nullptr);
    std::vector<VkQueueFamilyProperties> props(families);
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &families, props.data());
    for (uint32_t i = 0; i < families; ++i)
      if (props[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
        family = i;
        break;
      }
    const float priority = 1.0f;
    VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    qci.queueFamilyIndex = family;
    qci.queueCount = 1;
    qci.pQueuePriorities = &priority;
    VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    dci.queueCreateInfoCount = 1;
    dci.pQueueCreateInfos = &qci;
    vk_check(vkCreateDevice(physical, &dci, nullptr, &device), "app vkCreateDevice");
    vkGetDeviceQueue(device, family, 0, &queue);
  }

  ~App() {
    vkDestroyDevice(device, nullptr);
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT"));
    destroy(instance, messenger, nullptr);
    vkDestroyInstance(instance, nullptr);
  }

  AdoptedHandles handles() {
    AdoptedHandles h;
    h.instance = instance;
    h.physical_device = physical;
    h.device = device;
    h.queue = queue;
    h.queue_family = family;
    h.queue_mutex = &queue_mutex;
    return h;
  }

  static VKAPI_ATTR VkBool32 VKAPI_CALL callback(VkDebugUtilsMessageSeverityFlagBitsEXT,
                                                 VkDebugUtilsMessageTypeFlagsEXT,
                                                 const VkDebugUtilsMessengerCallbackDataEXT* d,
                                                 void* user) {
    auto* self = static_cast<App*>(user);
    std::lock_guard<std::mutex> lock(self->mutex);
    self->messages.emplace_back(d->pMessage ? d->pMessage : "");
    return VK_FALSE;
  }

  VkInstance instance = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t family = 0;
  std::mutex queue_mutex;
  std::mutex mutex;
  std::vector<std::string>& messages;  // outlives the app: destroy-time reports count
};

TEST(AdoptDevice, UsesAndNeverDestroysBorrowedHandles) {
  std::vector<std::string> messages;
  {
    App app(&messages);
    {
      auto device = Device::adopt(app.handles());
      EXPECT_FALSE(device->owns_handles());
      EXPECT_EQ(device->handle(), app.device);
      EXPECT_EQ(device->queue(), app.queue);
      // The app did not enable 16-bit storage, so repvk must not use it.
      EXPECT_FALSE(device->enabled().storage_16bit);
      // Properties need no enabling: the same as on a device repvk creates.
      const DeviceFeatures& have = device->info().features;
      EXPECT_EQ(device->enabled().subgroup_ballot, have.subgroup_ballot);
      EXPECT_EQ(device->enabled().subgroup_arithmetic, have.subgroup_arithmetic);
      EXPECT_EQ(device->enabled().subgroup_size, have.subgroup_size);
      EXPECT_EQ(device->enabled().timestamps, have.timestamps);
      EXPECT_EQ(device->queue_family(), app.family);
      EXPECT_EQ(device->info().compute_queue_family, app.family);

      Buffer buffer(*device, 1024, MemoryUsage::DeviceLocal);
      std::vector<uint32_t> data(256);
      for (uint32_t i = 0; i < 256; ++i) data[i] = i * 2654435761u;
      upload(*device, buffer, data.data(), 1024);
      std::vector<uint32_t> back(256);
      download(*device, buffer, back.data(), 1024);
      EXPECT_EQ(back, data);

      // A whole network on the app's device, checked against the CPU reference.
      SyntheticConfig cfg = synthetic_preset("small");
      cfg.stage_widths = {8, 8, 16, 16, 32};
      Model model = make_synthetic_model(cfg);
      NetworkOptions opts;
      opts.pipeline_cache_path = "none";
      Network net(*device, model, opts);
      std::vector<float> input(net.input_size() * 2);
      for (size_t i = 0; i < input.size(); ++i) input[i] = float((i * 7919) % 255) / 255.0f - 0.5f;
      const auto gpu = net.infer(input, 2);
      const auto cpu = cpu::forward(model, input.data(), 2);
      ASSERT_EQ(gpu.size(), cpu.size());
      for (size_t i = 0; i < gpu.size(); ++i) EXPECT_NEAR(gpu[i], cpu[i], 1e-4);

      // Nor shaderFloat16: fp16 math in igemm stays off without measuring, 'on' is refused.
      EXPECT_FALSE(device->enabled().float16);
      NetworkOptions igemm = opts;
      tuning(igemm).conv_algorithm = ConvAlgorithm::Igemm;
      Network ig(*device, model, igemm);
      EXPECT_FALSE(ig.fp16_math());
      EXPECT_FALSE(device->cached_fp16_math().has_value());
      igemm.fp16_math = Fp16Math::On;
      EXPECT_THROW({ Network on(*device, model, igemm); }, Error);
    }
    // repvk is gone; the app's device and queue must still work.
    VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence fence = VK_NULL_HANDLE;
    EXPECT_EQ(vkCreateFence(app.device, &fci, nullptr, &fence), VK_SUCCESS);
    EXPECT_EQ(vkQueueSubmit(app.queue, 0, nullptr, fence), VK_SUCCESS);
    EXPECT_EQ(vkWaitForFences(app.device, 1, &fence, VK_TRUE, UINT64_MAX), VK_SUCCESS);
    vkDestroyFence(app.device, fence, nullptr);
    EXPECT_EQ(vkDeviceWaitIdle(app.device), VK_SUCCESS);
  }
  for (const auto& m : messages) ADD_FAILURE() << "validation message: " << m;
}

TEST(AdoptDevice, RejectsMissingHandles) {
  AdoptedHandles h;
  EXPECT_THROW(Device::adopt(h), InvalidArgument);
}

// The application's queue lock, as the C API passes it: a pair of callbacks with a user
// pointer, called around each of repvk's submissions, never left held.
struct CLock {
  std::mutex mutex;
  int locks = 0, unlocks = 0;
  void* user_seen = nullptr;
};
extern "C" void c_lock(void* user) {
  auto* l = static_cast<CLock*>(user);
  l->mutex.lock();
  l->user_seen = user;
  ++l->locks;
}
extern "C" void c_unlock(void* user) {
  auto* l = static_cast<CLock*>(user);
  ++l->unlocks;
  l->mutex.unlock();
}

TEST(AdoptDevice, CApiTakesTheApplicationsQueueLock) {
  std::vector<std::string> messages;
  {
    App app(&messages);
    CLock lock;
    repvk_adopted_handles h{};
    h.instance = app.instance;
    h.physical_device = app.physical;
    h.device = app.device;
    h.queue = app.queue;
    h.queue_family = app.family;
    h.queue_lock = c_lock;  // without its unlock: refused before anything is adopted
    h.queue_lock_user = &lock;
    repvk_device* device = nullptr;
    EXPECT_EQ(repvk_device_adopt(&h, nullptr, &device), REPVK_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(repvk_last_error()).find("queue_unlock"), std::string::npos)
        << repvk_last_error();
    EXPECT_EQ(device, nullptr);
    h.queue_unlock = c_unlock;
    ASSERT_EQ(repvk_device_adopt(&h, nullptr, &device), REPVK_OK) << repvk_last_error();

    const Model model = make_synthetic_model(synthetic_preset("small"));
    const std::vector<uint8_t> bytes = serialize_model(model);
    repvk_network_options nopt;
    repvk_network_options_init(&nopt);
    nopt.pipeline_cache_path = "none";
    repvk_network* net = nullptr;
    ASSERT_EQ(repvk_network_load_memory(device, bytes.data(), bytes.size(), "small", &nopt, &net),
              REPVK_OK)
        << repvk_last_error();
    const int before = lock.locks;
    std::vector<float> input(size_t(model.input.channels) * model.input.height *
                             model.input.width);
    for (size_t i = 0; i < input.size(); ++i) input[i] = float((i * 7919) % 255) / 255.0f - 0.5f;
    std::vector<float> out(model.num_classes());
    ASSERT_EQ(repvk_network_infer(net, input.data(), input.size(), 1, out.data(), out.size()),
              REPVK_OK)
        << repvk_last_error();
    const std::vector<float> cpu = cpu::forward(model, input.data(), 1);
    for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], cpu[i], 1e-4);
    EXPECT_GT(lock.locks, before) << "the inference's submission took the app's lock";
    EXPECT_EQ(lock.locks, lock.unlocks);
    EXPECT_EQ(lock.user_seen, &lock);
    EXPECT_TRUE(lock.mutex.try_lock()) << "left held";
    lock.mutex.unlock();
    repvk_network_destroy(net);
    EXPECT_EQ(repvk_device_destroy(device), REPVK_OK);
    EXPECT_EQ(vkDeviceWaitIdle(app.device), VK_SUCCESS);
  }
  for (const auto& m : messages) ADD_FAILURE() << "validation message: " << m;
}

}  // namespace
}  // namespace repvk
