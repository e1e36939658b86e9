// SPDX-License-Identifier: MIT
// The thread rules of repvk/repvk.h and repvk/device.h, exercised; built normally and
// under ThreadSanitizer (scripts/ci_tsan_abi.sh), where any data race fails the run.
//
//  1. C API: 4 threads, each with 2 networks of its own, all 8 on one device; 200
//     inferences per thread, each checked against the CPU reference on fresh random
//     inputs, the output poisoned first.
//  2. C++ API, adopted device: the application submits to the same VkQueue from its
//     own thread, holding the mutex it passed as AdoptedHandles::queue_mutex, while two
//     threads run inferences on two networks. Without the shared lock the validation
//     layer's thread checks report the concurrent vkQueueSubmit calls.
//
// Every validation message fails the test. usage: embed_threads [--inferences N]
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "repvk/cpu_reference.h"
#include "repvk/device.h"
#include "repvk/error.h"
#include "repvk/model.h"
#include "repvk/network.h"
#include "repvk/repvk.h"
#include "repvk/synthetic.h"

namespace {

std::atomic<int> g_failures{0};
std::atomic<int> g_messages{0};

void fail(const std::string& what) {
  if (++g_failures <= 20) std::fprintf(stderr, "FAILED: %s\n", what.c_str());
}

void on_debug(void*, int severity, const char* id, const char* text) {
  std::fprintf(stderr, "validation message (severity %d): %s: %s\n", severity, id, text);
  ++g_messages;
}

repvk::Model make_model(uint64_t seed) {
  repvk::SyntheticConfig cfg = repvk::synthetic_preset("small");
  cfg.in_channels = 3;
  cfg.height = 16;
  cfg.width = 16;
  cfg.num_classes = 5;
  cfg.class_names.clear();
  cfg.stage_widths = {8, 8, 16, 16, 16};
  cfg.mean = {0.5f, 0.5f, 0.5f};
  cfg.std = {0.25f, 0.25f, 0.25f};
  cfg.seed = seed;
  return repvk::make_synthetic_model(cfg);
}

// Random inputs and their CPU-reference probabilities, computed before the threads start.
struct Cases {
  std::vector<std::vector<float>> inputs, expected;
};
Cases make_cases(const repvk::Model& model, uint32_t count, std::mt19937& rng) {
  const size_t per = size_t(model.input.channels) * model.input.height * model.input.width;
  std::uniform_real_distribution<float> value(-2.0f, 2.0f);
  Cases c;
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t batch = 1 + i % 2;
    std::vector<float> x(per * batch);
    for (float& v : x) v = value(rng);
    c.expected.push_back(repvk::cpu::forward(model, x.data(), batch));
    c.inputs.push_back(std::move(x));
  }
  return c;
}

bool close(const float* got, const std::vector<float>& want) {
  for (size_t i = 0; i < want.size(); ++i)
    if (!(std::fabs(got[i] - want[i]) <= 1e-4f)) return false;  // NaN (poison) fails too
  return true;
}

// 1. C API: threads x 2 networks on one owned device.
void c_api_threads(uint32_t threads, uint32_t inferences, uint32_t seed) {
  repvk_device_options dopt;
  repvk_device_options_init(&dopt);
  dopt.validation = 1;
  dopt.on_debug_message = on_debug;
  repvk_device* device = nullptr;
  if (repvk_device_create(&dopt, &device) != REPVK_OK) {
    fail(std::string("repvk_device_create: ") + repvk_last_error());
    return;
  }
  // Two different models, so that a network computing with the other's weights or
  // reading the other's output would be caught.
  std::mt19937 rng(seed);
  const repvk::Model models[2] = {make_model(seed), make_model(seed + 1)};
  const Cases cases[2] = {make_cases(models[0], 8, rng), make_cases(models[1], 8, rng)};
  std::vector<uint8_t> bytes[2] = {repvk::serialize_model(models[0]),
                                   repvk::serialize_model(models[1])};

  repvk_network_options nopt;
  repvk_network_options_init(&nopt);
  nopt.pipeline_cache_path = "none";
  nopt.precision = REPVK_PRECISION_FP32;
  nopt.max_batch = 2;
  std::vector<repvk_network*> networks(threads * 2, nullptr);
  for (size_t i = 0; i < networks.size(); ++i)
    if (repvk_network_load_memory(device, bytes[i % 2].data(), bytes[i % 2].size(), "threads",
                                  &nopt, &networks[i]) != REPVK_OK)
      fail(std::string("repvk_network_load_memory: ") + repvk_last_error());

  std::vector<std::thread> pool;
  for (uint32_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      std::vector<float> out(64);
      for (uint32_t k = 0; k < inferences; ++k) {
        const uint32_t which = k % 2;  // alternate between the thread's two networks
        repvk_network* net = networks[t * 2 + which];
        if (!net) return;
        const uint32_t c = (t * 7 + k * 3) % uint32_t(cases[which].inputs.size());
        const std::vector<float>& x = cases[which].inputs[c];
        const uint32_t batch = 1 + c % 2;
        std::fill(out.begin(), out.end(), std::numeric_limits<float>::quiet_NaN());
        if (repvk_network_infer(net, x.data(), x.size(), batch, out.data(), out.size()) !=
            REPVK_OK) {
          fail(std::string("repvk_network_infer: ") + repvk_network_last_error(net));
          return;
        }
        if (!close(out.data(), cases[which].expected[c])) {
          fail("thread " + std::to_string(t) + " inference " + std::to_string(k) +
               ": differs from the CPU reference");
          return;
        }
      }
    });
  for (std::thread& th : pool) th.join();
  for (repvk_network* n : networks) repvk_network_destroy(n);
  if (repvk_device_destroy(device) != REPVK_OK) fail("repvk_device_destroy");
  std::printf("C API: %u threads x 2 networks on one device, %u inferences each: done\n",
              threads, inferences);
}

void vk(VkResult r, const char* what) {
  if (r != VK_SUCCESS) throw repvk::VulkanError(r, what);
}

// The application's own instance, device and queue (validation on).
struct App {
  VkInstance instance = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t family = UINT32_MAX;
  std::mutex queue_mutex;  // held around every vkQueueSubmit on `queue`, by both sides

  static VKAPI_ATTR VkBool32 VKAPI_CALL callback(VkDebugUtilsMessageSeverityFlagBitsEXT,
                                                 VkDebugUtilsMessageTypeFlagsEXT,
                                                 const VkDebugUtilsMessengerCallbackDataEXT* d,
                                                 void*) {
    std::fprintf(stderr, "validation message (app): %s\n", d->pMessage ? d->pMessage : "");
    ++g_messages;
    return VK_FALSE;
  }

  App() {
    VkDebugUtilsMessengerCreateInfoEXT mci{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    mci.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                          VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    mci.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                      VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT;
    mci.pfnUserCallback = &App::callback;
    const char* layer = "VK_LAYER_KHRONOS_validation";
    const char* ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    VkApplicationInfo ai{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    ai.apiVersion = VK_API_VERSION_1_1;
    VkInstanceCreateInfo ici{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ici.pNext = &mci;
    ici.pApplicationInfo = &ai;
    ici.enabledLayerCount = 1;
    ici.ppEnabledLayerNames = &layer;
    ici.enabledExtensionCount = 1;
    ici.ppEnabledExtensionNames = &ext;
    vk(vkCreateInstance(&ici, nullptr, &instance), "vkCreateInstance");
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT"));
    vk(create(instance, &mci, nullptr, &messenger), "vkCreateDebugUtilsMessengerEXT");
    uint32_t count = 1;
    const VkResult r = vkEnumeratePhysicalDevices(instance, &count, &physical);
    if ((r != VK_SUCCESS && r != VK_INCOMPLETE) || !physical)
      throw std::runtime_error("no Vulkan device");
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &n, nullptr);
    std::vector<VkQueueFamilyProperties> props(n);
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &n, props.data());
    for (uint32_t i = 0; i < n && family == UINT32_MAX; ++i)
      if (props[i].queueFlags & VK_QUEUE_COMPUTE_BIT) family = i;
    const float priority = 1.0f;
    VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    qci.queueFamilyIndex = family;
    qci.queueCount = 1;
    qci.pQueuePriorities = &priority;
    VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    dci.queueCreateInfoCount = 1;
    dci.pQueueCreateInfos = &qci;
    vk(vkCreateDevice(physical, &dci, nullptr, &device), "vkCreateDevice");
    vkGetDeviceQueue(device, family, 0, &queue);
  }
  ~App() {
    vkDestroyDevice(device, nullptr);
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT"));
    destroy(instance, messenger, nullptr);
    vkDestroyInstance(instance, nullptr);
  }
};

// 2. Adopted device: the app's thread and repvk's threads share one VkQueue.
void adopted_shared_queue(uint32_t inferences, uint32_t seed) {
  App app;
  uint64_t app_submits = 0;
  {
    repvk::AdoptedHandles h;
    h.instance = app.instance;
    h.physical_device = app.physical;
    h.device = app.device;
    h.queue = app.queue;
    h.queue_family = app.family;
    h.queue_mutex = &app.queue_mutex;
    std::unique_ptr<repvk::Device> device = repvk::Device::adopt(h);
    std::mt19937 rng(seed);
    const repvk::Model models[2] = {make_model(seed + 2), make_model(seed + 3)};
    const Cases cases[2] = {make_cases(models[0], 8, rng), make_cases(models[1], 8, rng)};
    repvk::NetworkOptions options;
    options.pipeline_cache_path = "none";
    options.precision = repvk::Precision::Fp32;
    repvk::Network nets[2] = {repvk::Network(*device, models[0], options),
                              repvk::Network(*device, models[1], options)};

    // The application's own work on the queue: a fenced submission at a time, under
    // the shared lock, as fast as it can until repvk's threads are done.
    std::atomic<bool> done{false};
    std::thread app_thread([&] {
      VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
      VkFence fence = VK_NULL_HANDLE;
      vk(vkCreateFence(app.device, &fci, nullptr, &fence), "vkCreateFence");
      while (!done.load()) {
        {
          std::lock_guard<std::mutex> lock(app.queue_mutex);
          vk(vkQueueSubmit(app.queue, 0, nullptr, fence), "app vkQueueSubmit");
        }
        vk(vkWaitForFences(app.device, 1, &fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
        vk(vkResetFences(app.device, 1, &fence), "vkResetFences");
        ++app_submits;
      }
      vkDestroyFence(app.device, fence, nullptr);
    });
    std::vector<std::thread> pool;
    for (uint32_t t = 0; t < 2; ++t)
      pool.emplace_back([&, t] {
        try {
          for (uint32_t k = 0; k < inferences; ++k) {
            const uint32_t c = (k * 5 + t) % uint32_t(cases[t].inputs.size());
            const std::vector<float> got = nets[t].infer(cases[t].inputs[c], 1 + c % 2);
            if (got.size() != cases[t].expected[c].size() || !close(got.data(), cases[t].expected[c])) {
              fail("adopted device, network " + std::to_string(t) + " inference " +
                   std::to_string(k) + ": differs from the CPU reference");
              return;
            }
          }
        } catch (const std::exception& e) {
          fail(std::string("adopted device: ") + e.what());
        }
      });
    for (std::thread& th : pool) th.join();
    done = true;
    app_thread.join();
  }
  if (app_submits == 0) fail("the application thread never submitted");
  std::printf("adopted device: 2 threads x %u inferences while the app submitted %llu times "
              "on the same queue: done\n",
              inferences, (unsigned long long)app_submits);
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t inferences = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--inferences") == 0) inferences = uint32_t(std::atoi(argv[i + 1]));
    else {
      std::fprintf(stderr, "usage: embed_threads [--inferences N]\n");
      return 2;
    }
  }
  const uint32_t seed = std::random_device{}();
  std::printf("seed %u\n", seed);
  try {
    c_api_threads(4, inferences, seed);
    adopted_shared_queue(inferences / 2, seed);
  } catch (const std::exception& e) {
    fail(e.what());
  }
  if (g_messages) std::fprintf(stderr, "%d validation message(s)\n", g_messages.load());
  std::printf("%s\n", g_failures || g_messages ? "FAILED" : "all thread checks passed");
  return g_failures || g_messages ? 1 : 0;
}
