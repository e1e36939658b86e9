// SPDX-License-Identifier: MIT
#include "repvk/device.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "repvk/error.h"
#include "runtime/device_features.h"
#include "runtime/pipeline_pool.h"

namespace repvk {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool has_layer(const char* name) {
  uint32_t count = 0;
  vkEnumerateInstanceLayerProperties(&count, nullptr);
  std::vector<VkLayerProperties> layers(count);
  vkEnumerateInstanceLayerProperties(&count, layers.data());
  for (const auto& l : layers)
    if (std::strcmp(l.layerName, name) == 0) return true;
  return false;
}

bool has_instance_extension(const char* name) {
  uint32_t count = 0;
  vkEnumerateInstanceExtensionProperties(nullptr, &count, nullptr);
  std::vector<VkExtensionProperties> exts(count);
  vkEnumerateInstanceExtensionProperties(nullptr, &count, exts.data());
  for (const auto& e : exts)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

std::vector<std::string> device_extensions(VkPhysicalDevice pd) {
  uint32_t count = 0;
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &count, nullptr);
  std::vector<VkExtensionProperties> exts(count);
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &count, exts.data());
  std::vector<std::string> names;
  for (const auto& e : exts) names.emplace_back(e.extensionName);
  return names;
}

bool contains(const std::vector<std::string>& v, const char* name) {
  return std::find(v.begin(), v.end(), name) != v.end();
}

uint32_t instance_api_version() {
  uint32_t version = VK_API_VERSION_1_0;
  if (vkEnumerateInstanceVersion(&version) != VK_SUCCESS) version = VK_API_VERSION_1_0;
  return version;
}

// Everything needed to create an instance; reused by enumerate_devices() and Device.
struct InstanceRecipe {
  std::vector<const char*> layers;
  std::vector<const char*> extensions;
  VkInstanceCreateFlags flags = 0;
};

InstanceRecipe instance_recipe(bool validation) {
  InstanceRecipe r;
  // MoltenVK and other non-conformant drivers only show up when asked for.
  if (has_instance_extension(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
    r.extensions.push_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
    r.flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
  }
  if (validation) {
    if (!has_layer("VK_LAYER_KHRONOS_validation"))
      throw Error(
          "validation requested but VK_LAYER_KHRONOS_validation is not installed "
          "(Debian: apt-get install vulkan-validationlayers)");
    if (!has_instance_extension(VK_EXT_DEBUG_UTILS_EXTENSION_NAME))
      throw Error("validation requested but VK_EXT_debug_utils is not available");
    r.layers.push_back("VK_LAYER_KHRONOS_validation");
    r.extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }
  return r;
}

VkInstance create_instance(const InstanceRecipe& recipe, const std::string& app_name,
                           const void* pnext) {
  if (instance_api_version() < VK_API_VERSION_1_1)
    throw Error("the Vulkan loader supports only Vulkan 1.0; repvk needs Vulkan 1.1");
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = app_name.c_str();
  app.pEngineName = "repvk";
  app.apiVersion = std::min<uint32_t>(instance_api_version(), VK_API_VERSION_1_3);
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pNext = pnext;
  ci.flags = recipe.flags;
  ci.pApplicationInfo = &app;
  ci.enabledLayerCount = static_cast<uint32_t>(recipe.layers.size());
  ci.ppEnabledLayerNames = recipe.layers.data();
  ci.enabledExtensionCount = static_cast<uint32_t>(recipe.extensions.size());
  ci.ppEnabledExtensionNames = recipe.extensions.data();
  VkInstance instance = VK_NULL_HANDLE;
  vk_check(vkCreateInstance(&ci, nullptr, &instance), "vkCreateInstance");
  return instance;
}

// One extension struct of vkGetPhysicalDeviceProperties2, filled on its own
// (`s` carries its sType; its pNext must be null).
template <typename T>
T query_properties(VkPhysicalDevice pd, T s) {
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  props.pNext = &s;
  vkGetPhysicalDeviceProperties2(pd, &props);
  return s;
}

// A compile-only device (Mesa RADV's null winsys: RADV_FORCE_FAMILY without the GPU)
// enumerates like a discrete GPU but has no kernel device behind it and no memory.
// Two driver-neutral signs, either of which marks it:
//  - VK_EXT_physical_device_drm is implemented (Linux GPU drivers: RADV, ANV, NVIDIA)
//    and reports neither a primary nor a render node. CPU devices are exempt: they
//    never have a node (lavapipe does not implement the extension anyway).
//  - every memory heap is 0 bytes: nothing can be allocated, so nothing can run.
void classify_runnable(VkPhysicalDevice pd, const std::vector<std::string>& exts,
                       const VkPhysicalDeviceMemoryProperties& mem, PhysicalDeviceInfo& info) {
  uint64_t heap_bytes = 0;
  for (uint32_t h = 0; h < mem.memoryHeapCount; ++h) heap_bytes += mem.memoryHeaps[h].size;
  if (info.type != VK_PHYSICAL_DEVICE_TYPE_CPU &&
      contains(exts, VK_EXT_PHYSICAL_DEVICE_DRM_EXTENSION_NAME)) {
    const auto drm = query_properties(
        pd, VkPhysicalDeviceDrmPropertiesEXT{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRM_PROPERTIES_EXT});
    if (!drm.hasPrimary && !drm.hasRender) {
      info.runnable = false;
      info.not_runnable_reason =
          "the driver reports no DRM device node: a compile-only (null) device";
      return;
    }
  }
  if (heap_bytes == 0) {
    info.runnable = false;
    info.not_runnable_reason = "every memory heap is 0 bytes: a compile-only (null) device";
  }
}

// Name, type, IDs and driver of a device; returns the core properties for the rest.
VkPhysicalDeviceProperties read_identity(VkPhysicalDevice pd, const std::vector<std::string>& exts,
                                         PhysicalDeviceInfo& info) {
  VkPhysicalDeviceProperties base{};
  vkGetPhysicalDeviceProperties(pd, &base);
  info.name = base.deviceName;
  info.type = base.deviceType;
  info.api_version = base.apiVersion;
  info.vendor_id = base.vendorID;
  info.device_id = base.deviceID;
  if (base.apiVersion >= VK_API_VERSION_1_2 ||
      contains(exts, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME)) {
    const auto driver = query_properties(
        pd, VkPhysicalDeviceDriverProperties{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES});
    info.driver_name = driver.driverName;
    info.driver_info = driver.driverInfo;
  } else {
    info.driver_name = "unknown";
    info.driver_info = "driver version " + std::to_string(base.driverVersion);
  }
  return base;
}

// Subgroup operations are properties (core 1.1): usable without enabling anything.
void read_subgroup_support(VkPhysicalDevice pd, DeviceFeatures& f) {
  const auto subgroup = query_properties(
      pd, VkPhysicalDeviceSubgroupProperties{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES});
  const bool compute = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0;
  const VkSubgroupFeatureFlags ops = compute ? subgroup.supportedOperations : 0;
  f.subgroup_basic = (ops & VK_SUBGROUP_FEATURE_BASIC_BIT) != 0;
  f.subgroup_arithmetic = (ops & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) != 0;
  f.subgroup_shuffle = (ops & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) != 0;
  f.subgroup_ballot = (ops & VK_SUBGROUP_FEATURE_BALLOT_BIT) != 0;
  f.subgroup_size = subgroup.subgroupSize;
}

void read_limits(VkPhysicalDevice pd, const std::vector<std::string>& exts,
                 const VkPhysicalDeviceLimits& l, DeviceLimits& out) {
  out.max_storage_buffer_range = l.maxStorageBufferRange;
  out.max_shared_memory = l.maxComputeSharedMemorySize;
  out.max_texel_buffer_elements = l.maxTexelBufferElements;
  out.max_workgroup_invocations = l.maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; ++i) {
    out.max_workgroup_size[i] = l.maxComputeWorkGroupSize[i];
    out.max_workgroup_count[i] = l.maxComputeWorkGroupCount[i];
  }
  out.max_push_constants = l.maxPushConstantsSize;
  out.timestamp_period_ns = l.timestampPeriod;
  out.max_memory_allocation_size =
      query_properties(pd, VkPhysicalDeviceMaintenance3Properties{
                               VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES})
          .maxMemoryAllocationSize;

  // Compute units, only from the extensions that report them (queried only when listed).
  if (contains(exts, VK_NV_SHADER_SM_BUILTINS_EXTENSION_NAME)) {
    const auto sm = query_properties(
        pd, VkPhysicalDeviceShaderSMBuiltinsPropertiesNV{
                VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_SM_BUILTINS_PROPERTIES_NV});
    out.compute_units = sm.shaderSMCount;
  } else if (contains(exts, VK_AMD_SHADER_CORE_PROPERTIES_EXTENSION_NAME)) {
    const auto core = query_properties(
        pd, VkPhysicalDeviceShaderCorePropertiesAMD{
                VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_CORE_PROPERTIES_AMD});
    out.compute_units = core.shaderEngineCount * core.shaderArraysPerEngineCount *
                        core.computeUnitsPerShaderArray;
  }
}

VkPhysicalDeviceMemoryProperties read_memory(VkPhysicalDevice pd, DeviceLimits& out) {
  VkPhysicalDeviceMemoryProperties mem{};
  vkGetPhysicalDeviceMemoryProperties(pd, &mem);
  for (uint32_t h = 0; h < mem.memoryHeapCount; ++h)
    if (mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      out.device_local_bytes = std::max<uint64_t>(out.device_local_bytes, mem.memoryHeaps[h].size);
  const VkMemoryPropertyFlags unified =
      VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
  for (uint32_t t = 0; t < mem.memoryTypeCount; ++t)
    if ((mem.memoryTypes[t].propertyFlags & unified) == unified) out.unified_memory = true;
  return mem;
}

std::vector<VkQueueFamilyProperties> queue_families(VkPhysicalDevice pd) {
  uint32_t count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &count, nullptr);
  std::vector<VkQueueFamilyProperties> families(count);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &count, families.data());
  return families;
}

// The one place that ties the queue family to what depends on it: repvk's queue, and
// timestamps (valid bits are per family). read_limits() must have run (the period).
void use_queue_family(PhysicalDeviceInfo& info, uint32_t family,
                      const VkQueueFamilyProperties& props) {
  info.compute_queue_family = family;
  info.limits.timestamp_valid_bits = props.timestampValidBits;
  info.features.timestamps =
      info.limits.timestamp_valid_bits > 0 && info.limits.timestamp_period_ns > 0.0f;
}

PhysicalDeviceInfo query_device(VkPhysicalDevice pd, uint32_t index) {
  PhysicalDeviceInfo info;
  info.index = index;
  const auto exts = device_extensions(pd);
  const VkPhysicalDeviceProperties base = read_identity(pd, exts, info);
  query_table_features(pd, base.apiVersion, exts, info.features);
  read_subgroup_support(pd, info.features);
  read_limits(pd, exts, base.limits, info.limits);
  const auto families = queue_families(pd);
  for (uint32_t i = 0; i < families.size(); ++i)
    if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
      use_queue_family(info, i, families[i]);
      break;
    }
  const VkPhysicalDeviceMemoryProperties mem = read_memory(pd, info.limits);
  classify_runnable(pd, exts, mem, info);
  return info;
}

// vkCreateDevice with one queue of info.compute_queue_family and the `enable` features.
VkDevice create_logical_device(VkPhysicalDevice pd, const PhysicalDeviceInfo& info,
                               const DeviceFeatures& enable) {
  const DeviceFeatureChain chain(enable, info.api_version);
  std::vector<const char*> extensions = chain.extensions();
  // The spec requires enabling portability_subset wherever it is advertised.
  if (contains(device_extensions(pd), "VK_KHR_portability_subset"))
    extensions.push_back("VK_KHR_portability_subset");
  const float priority = 1.0f;
  VkDeviceQueueCreateInfo queue_ci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  queue_ci.queueFamilyIndex = info.compute_queue_family;
  queue_ci.queueCount = 1;
  queue_ci.pQueuePriorities = &priority;
  VkDeviceCreateInfo device_ci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  device_ci.pNext = chain.features2();
  device_ci.queueCreateInfoCount = 1;
  device_ci.pQueueCreateInfos = &queue_ci;
  device_ci.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  device_ci.ppEnabledExtensionNames = extensions.data();
  VkDevice device = VK_NULL_HANDLE;
  vk_check(vkCreateDevice(pd, &device_ci, nullptr, &device), "vkCreateDevice");
  return device;
}

int type_rank(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
    default: return 4;
  }
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance instance) {
  uint32_t count = 0;
  vk_check(vkEnumeratePhysicalDevices(instance, &count, nullptr), "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> pds(count);
  vk_check(vkEnumeratePhysicalDevices(instance, &count, pds.data()), "vkEnumeratePhysicalDevices");
  pds.resize(count);
  return pds;
}

}  // namespace

const char* device_type_name(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

uint32_t estimate_compute_units(const PhysicalDeviceInfo& device) {
  if (device.limits.compute_units) return device.limits.compute_units;
  // Low guesses on purpose: too few CUs only leaves a small layer under-split (as it
  // was before split-K), too many costs every small layer a reduction it does not need.
  switch (device.type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 16;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 8;
    default: return 1;
  }
}

std::vector<PhysicalDeviceInfo> enumerate_devices() {
  InstanceRecipe recipe = instance_recipe(false);
  VkInstance instance = create_instance(recipe, "repvk-enumerate", nullptr);
  std::vector<PhysicalDeviceInfo> out;
  try {
    auto pds = physical_devices(instance);
    for (uint32_t i = 0; i < pds.size(); ++i) out.push_back(query_device(pds[i], i));
  } catch (...) {
    vkDestroyInstance(instance, nullptr);
    throw;
  }
  vkDestroyInstance(instance, nullptr);
  return out;
}

uint32_t choose_device(const std::vector<PhysicalDeviceInfo>& devices, const std::string& select) {
  std::vector<uint32_t> usable;
  for (const auto& d : devices)
    if (d.compute_queue_family != UINT32_MAX && d.api_version >= VK_API_VERSION_1_1)
      usable.push_back(d.index);
  if (usable.empty())
    throw Error("no Vulkan 1.1 device with a compute queue was found (is a driver installed? "
                "on Debian: apt-get install mesa-vulkan-drivers)");
  if (!select.empty()) {
    const bool numeric = std::all_of(select.begin(), select.end(),
                                     [](unsigned char c) { return std::isdigit(c) != 0; });
    if (numeric) {
      const unsigned long idx = std::strtoul(select.c_str(), nullptr, 10);
      for (uint32_t u : usable)
        if (u == idx) return u;
      throw Error("device index " + select + " does not name a usable Vulkan 1.1 device (" +
                  std::to_string(devices.size()) + " found; see `repvk devices`)");
    }
    const std::string needle = lower(select);
    for (uint32_t u : usable)
      if (lower(devices[u].name).find(needle) != std::string::npos) return u;
    throw Error("no Vulkan device name contains \"" + select + "\" (see `repvk devices`)");
  }
  // Runnable first, then type; among equals the larger device-local heap, never the
  // smallest. A compile-only device is picked only when nothing else exists.
  return *std::min_element(usable.begin(), usable.end(), [&](uint32_t a, uint32_t b) {
    if (devices[a].runnable != devices[b].runnable) return devices[a].runnable;
    const int ra = type_rank(devices[a].type), rb = type_rank(devices[b].type);
    if (ra != rb) return ra < rb;
    return devices[a].limits.device_local_bytes > devices[b].limits.device_local_bytes;
  });
}

VKAPI_ATTR VkBool32 VKAPI_CALL Device::debug_trampoline(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT,
    const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  auto* self = static_cast<Device*>(user);
  DebugMessage m{severity, data->pMessageIdName ? data->pMessageIdName : "",
                 data->pMessage ? data->pMessage : ""};
  self->debug_messages_.fetch_add(1);
  if (self->on_debug_) {
    self->on_debug_(m);
  } else {
    self->log(severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? LogLevel::Error
                                                                        : LogLevel::Warning,
              "vulkan: " + m.id_name + " " + m.text);
  }
  return VK_FALSE;
}

std::unique_ptr<Device> Device::create(const DeviceOptions& options) {
  std::unique_ptr<Device> self(new Device());
  self->owns_ = true;
  self->on_debug_ = options.on_debug_message;
  self->on_log_ = options.on_log;
  const bool validation = options.validation;

  VkDebugUtilsMessengerCreateInfoEXT messenger_ci{
      VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  messenger_ci.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                                 VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  messenger_ci.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                             VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT;
  messenger_ci.pfnUserCallback = &Device::debug_trampoline;
  messenger_ci.pUserData = self.get();

  InstanceRecipe recipe = instance_recipe(validation);
  // Chaining the messenger into instance creation also reports create/destroy issues.
  self->instance_ =
      create_instance(recipe, options.application_name, validation ? &messenger_ci : nullptr);
  if (validation) {
    auto create_messenger = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(self->instance_, "vkCreateDebugUtilsMessengerEXT"));
    if (!create_messenger) throw Error("vkCreateDebugUtilsMessengerEXT is not available");
    vk_check(create_messenger(self->instance_, &messenger_ci, nullptr, &self->messenger_),
             "vkCreateDebugUtilsMessengerEXT");
  }

  std::vector<PhysicalDeviceInfo> infos;
  const auto pds = physical_devices(self->instance_);
  for (uint32_t i = 0; i < pds.size(); ++i) infos.push_back(query_device(pds[i], i));
  const uint32_t chosen = choose_device(infos, options.select);
  self->physical_ = pds[chosen];
  self->info_ = infos[chosen];
  self->enabled_ = features_to_enable(self->info_.features, options, nullptr);
  self->device_ = create_logical_device(self->physical_, self->info_, self->enabled_);
  vkGetDeviceQueue(self->device_, self->info_.compute_queue_family, 0, &self->queue_);
  self->init_common();
  return self;
}

std::unique_ptr<Device> Device::adopt(const AdoptedHandles& h, const DeviceOptions& options) {
  if (h.instance == VK_NULL_HANDLE || h.physical_device == VK_NULL_HANDLE ||
      h.device == VK_NULL_HANDLE || h.queue == VK_NULL_HANDLE)
    throw InvalidArgument(
        "Device::adopt: instance, physical device, device and queue must all be set");
  std::unique_ptr<Device> self(new Device());
  self->owns_ = false;
  self->on_debug_ = options.on_debug_message;
  self->on_log_ = options.on_log;
  self->instance_ = h.instance;
  self->physical_ = h.physical_device;
  self->device_ = h.device;
  self->queue_ = h.queue;
  if (h.queue_mutex) {
    self->queue_mutex_ = h.queue_mutex;
  } else if (h.queue_lock || h.queue_unlock) {
    if (!h.queue_lock || !h.queue_unlock)
      throw InvalidArgument("Device::adopt: queue_lock and queue_unlock must be set together");
    self->queue_lock_ = h.queue_lock;
    self->queue_unlock_ = h.queue_unlock;
  }

  const auto pds = physical_devices(h.instance);
  uint32_t index = 0;
  for (uint32_t i = 0; i < pds.size(); ++i)
    if (pds[i] == h.physical_device) index = i;
  self->info_ = query_device(h.physical_device, index);

  const auto families = queue_families(h.physical_device);
  if (h.queue_family >= families.size() ||
      !(families[h.queue_family].queueFlags & VK_QUEUE_COMPUTE_BIT))
    throw Error("Device::adopt: queue family " + std::to_string(h.queue_family) +
                " does not support compute");
  use_queue_family(self->info_, h.queue_family, families[h.queue_family]);
  self->enabled_ = features_to_enable(self->info_.features, options, &h);
  self->init_common();
  return self;
}

void Device::init_common() {
  vkGetPhysicalDeviceMemoryProperties(physical_, &memory_);
}

Device::Device() : pipeline_pool_(std::make_unique<PipelinePool>()) {}

Device::~Device() {
  if (device_ != VK_NULL_HANDLE) {
    // Waiting on the device would stall an adopting app's renderer; our own work
    // is always fenced, so idling is only needed when we own the device.
    // A compile-only device never received work (and RADV's null winsys crashes here).
    if (owns_ && info_.runnable) vkDeviceWaitIdle(device_);
  }
  // Pipelines go before the VkDevice, borrowed or not: they are repvk's own objects.
  pipeline_pool_.reset();
  if (!owns_) return;
  if (device_) vkDestroyDevice(device_, nullptr);
  if (messenger_) {
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroy) destroy(instance_, messenger_, nullptr);
  }
  if (instance_) vkDestroyInstance(instance_, nullptr);
}

uint32_t Device::find_memory_type(uint32_t type_bits, VkMemoryPropertyFlags required,
                                  VkMemoryPropertyFlags preferred) const {
  uint32_t fallback = UINT32_MAX;
  for (uint32_t i = 0; i < memory_.memoryTypeCount; ++i) {
    if (!(type_bits & (1u << i))) continue;
    const VkMemoryPropertyFlags f = memory_.memoryTypes[i].propertyFlags;
    if ((f & required) != required) continue;
    if ((f & preferred) == preferred) return i;
    if (fallback == UINT32_MAX) fallback = i;
  }
  return fallback;
}

void Device::note_pipeline(CreatedPipeline created) {
  std::lock_guard<std::mutex> lock(created_mutex_);
  created_.push_back(std::move(created));
}

std::vector<CreatedPipeline> Device::created_pipelines() const {
  std::lock_guard<std::mutex> lock(created_mutex_);
  return created_;
}

Fp16MathMeasurement Device::fp16_math_once(const std::function<Fp16MathMeasurement()>& measure) {
  // Held while measuring: a second Network on another thread waits for the record
  // instead of timing the device at the same time (which would skew both).
  std::lock_guard<std::mutex> lock(fp16_math_mutex_);
  if (!fp16_math_) fp16_math_ = measure();
  return *fp16_math_;
}

std::optional<Fp16MathMeasurement> Device::cached_fp16_math() const {
  std::lock_guard<std::mutex> lock(fp16_math_mutex_);
  return fp16_math_;
}

void Device::submit(VkCommandBuffer cmd, VkFence fence) {
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd;
  submit(&si, 1, fence);
}

void Device::submit(const VkSubmitInfo* submits, uint32_t count, VkFence fence) {
  if (compile_only())
    throw Error(info_.name + " cannot execute work (" + info_.not_runnable_reason +
                "); it only compiles pipelines (see `repvk shader-stats`)");
  if (queue_lock_) {
    queue_lock_();
    const VkResult r = vkQueueSubmit(queue_, count, submits, fence);
    queue_unlock_();
    vk_check(r, "vkQueueSubmit");
    return;
  }
  std::lock_guard<std::mutex> lock(*queue_mutex_);
  vk_check(vkQueueSubmit(queue_, count, submits, fence), "vkQueueSubmit");
}

}  // namespace repvk
