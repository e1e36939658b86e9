// SPDX-License-Identifier: MIT
// Device layer: an engine either owns its VkInstance/VkDevice or adopts the ones a
// host application created. No process-wide Vulkan state: two Devices can coexist.
//
// Lifetime: Device::create() owns its instance and device and destroys them in
// ~Device() after vkDeviceWaitIdle. Device::adopt() borrows every handle in
// AdoptedHandles and destroys only what repvk created on it (a command pool), without
// idling the device; the application keeps its handles alive until the Device and
// every Network on it are gone. Networks must be destroyed before their Device.
// Thread-safety: a Device may be shared by Networks running on different threads;
// every repvk submission holds the queue mutex (the application's, when it passes
// AdoptedHandles::queue_mutex, so both sides can submit to one VkQueue).
// Errors: repvk::Error, and repvk::VulkanError carrying the VkResult (repvk/error.h).
#pragma once

#include "repvk/export.h"
#include "repvk/log.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <vulkan/vulkan.h>

namespace repvk {

struct DeviceFeatures {
  bool storage_16bit = false;     // storageBuffer16BitAccess
  bool float16 = false;           // shaderFloat16
  bool subgroup_basic = false;    // compute-stage subgroup basic ops
  bool subgroup_arithmetic = false;
  bool subgroup_shuffle = false;
  bool subgroup_ballot = false;      // subgroupBroadcast & co. in compute
  bool integer_dot_product = false;  // VK_KHR_shader_integer_dot_product
  bool timestamps = false;        // compute-queue timestamps usable
  // VK_KHR_pipeline_executable_properties: per-pipeline register, spill and
  // shared-memory statistics and (on some drivers) ISA text, for `repvk shader-stats`.
  bool pipeline_executable_info = false;
  uint32_t subgroup_size = 0;     // as reported: a hint, never relied upon
};

struct DeviceLimits {
  uint64_t max_storage_buffer_range = 0;
  uint64_t max_memory_allocation_size = 0;
  uint32_t max_shared_memory = 0;
  uint32_t max_texel_buffer_elements = 0;
  uint32_t max_workgroup_invocations = 0;
  uint32_t max_workgroup_size[3] = {0, 0, 0};
  uint32_t max_workgroup_count[3] = {0, 0, 0};
  uint32_t max_push_constants = 0;
  float timestamp_period_ns = 0.0f;
  uint32_t timestamp_valid_bits = 0;
  uint64_t device_local_bytes = 0;  // largest device-local heap
  bool unified_memory = false;      // a memory type is device-local and host-visible
  // Compute units (NVIDIA SMs, AMD CUs) as the driver reports them: VK_NV_shader_sm_builtins'
  // shaderSMCount, or VK_AMD_shader_core_properties' shader engines x arrays per engine x
  // CUs per array. 0 = not reported (every other driver; estimate_compute_units() guesses).
  uint32_t compute_units = 0;
};

struct PhysicalDeviceInfo {
  uint32_t index = 0;
  std::string name;
  std::string driver_name;
  std::string driver_info;
  VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
  uint32_t api_version = 0;
  uint32_t vendor_id = 0, device_id = 0;
  uint32_t compute_queue_family = UINT32_MAX;
  DeviceFeatures features;  // what the device supports
  DeviceLimits limits;
  // False for a device that compiles pipelines but cannot execute anything: Mesa's
  // RADV with RADV_FORCE_FAMILY and no AMD GPU (the "null" winsys) is one. The rule
  // (docs/design/shader-statistics.md): a GPU whose driver implements
  // VK_EXT_physical_device_drm yet reports neither a primary nor a render node, or
  // any device whose memory heaps are all 0 bytes. `not_runnable_reason` says which.
  bool runnable = true;
  std::string not_runnable_reason;
};

REPVK_API const char* device_type_name(VkPhysicalDeviceType type);

// limits.compute_units where the driver reports it, else a conservative guess by device
// type that sizes the work split of small layers (conv3x3_igemm's split-K): 16 for a
// discrete GPU, 8 for an integrated or virtual one, 1 for a CPU or anything else.
REPVK_API uint32_t estimate_compute_units(const PhysicalDeviceInfo& device);

// One validation or driver message received by the debug messenger.
struct DebugMessage {
  VkDebugUtilsMessageSeverityFlagBitsEXT severity;
  std::string id_name;
  std::string text;
};
using DebugCallback = std::function<void(const DebugMessage&)>;

// The library reads no environment variable; options_from_environment()
// (repvk/environment.h) fills these from REPVK_DEVICE, REPVK_VALIDATION, REPVK_FORCE_FP32.
struct DeviceOptions {
  // "" picks automatically (discrete > integrated > virtual > CPU). A decimal number
  // selects by index, anything else by case-insensitive name substring.
  std::string select;
  // Enables VK_LAYER_KHRONOS_validation and a messenger.
  bool validation = false;
  // Receives validation warnings/errors (and is why tests fail on any message).
  // Without it they go to on_log (Warning, or Error for error-severity messages).
  DebugCallback on_debug_message;
  // Never enable fp16 features even when present.
  bool force_fp32 = false;
  std::string application_name = "repvk";
  // Enables pipelineExecutableInfo (where supported) and creates every pipeline with
  // VK_PIPELINE_CREATE_CAPTURE_STATISTICS/INTERNAL_REPRESENTATIONS, so that tools can
  // read the driver's statistics; Network::pipelines() then lists them per layer.
  bool capture_pipeline_statistics = false;
  // Receives the library's messages about this device and its Networks
  // (repvk/log.h); empty (the default): they are discarded. repvk never prints.
  LogCallback on_log;
};

// A pipeline created on a Device that captures statistics (DeviceOptions).
struct CreatedPipeline {
  std::string shader;          // embedded shader name, e.g. "conv3x3_tiled_f32"
  // Specialization constants as {constant_id, value}, in the order they were given.
  std::vector<std::pair<uint32_t, uint32_t>> spec;
  VkPipeline pipeline = VK_NULL_HANDLE;
};

// The measurement that decides whether conv3x3_igemm computes in fp16 on a device
// (measure_fp16_math() in repvk/precision.h, NetworkOptions::fp16_math): the fp32 and
// the fp16-arithmetic pipelines timed on one representative layer.
struct Fp16MathMeasurement {
  bool measured = false;  // false: nothing was timed, `reason` says why
  bool use_fp16 = false;  // the decision: fp16 at least 5% faster than fp32
  double fp32_ms = 0, fp16_ms = 0;  // medians of the timed repetitions
  bool gpu_timestamps = false;      // timed with timestamp queries (else host fences)
  uint32_t repetitions = 0;         // timed runs of each pipeline (after warm-up)
  double probe_ms = 0;  // wall time of the whole measurement, pipeline creation included
  std::string shape;   // what was timed, e.g. "conv3x3 64->64 28x28 batch 4 q4/channel"
  std::string reason;  // when not measured: why (no shaderFloat16, not runnable, ...)
};

// Handles created by the host application. None of them is ever destroyed by repvk.
struct AdoptedHandles {
  VkInstance instance = VK_NULL_HANDLE;
  VkPhysicalDevice physical_device = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;     // must support compute
  uint32_t queue_family = 0;
  // Features the application enabled on its VkDevice; repvk uses only these.
  bool storage_16bit_enabled = false;
  bool float16_enabled = false;
  // Optional: a mutex the application also holds around vkQueueSubmit on `queue`.
  std::mutex* queue_mutex = nullptr;
  // Optional, for an application lock that is not a std::mutex (the C API passes its
  // callbacks here): repvk calls queue_lock() before and queue_unlock() after each of
  // its vkQueueSubmit calls on `queue`. Both or neither; unused when queue_mutex is set.
  std::function<void()> queue_lock, queue_unlock;
};

// Lists every physical device, portability (e.g. MoltenVK) devices included.
REPVK_API std::vector<PhysicalDeviceInfo> enumerate_devices();
// Picks an index into `devices` according to `select` (see DeviceOptions::select).
// Throws Error naming the selector when nothing matches.
REPVK_API uint32_t choose_device(const std::vector<PhysicalDeviceInfo>& devices,
                                const std::string& select);

class PipelinePool;  // engine-internal (engine/src/runtime/pipeline_pool.h)
class UploadBatch;   // engine-internal (engine/src/runtime/memory.h)

class Device {
 public:
  REPVK_API static std::unique_ptr<Device> create(const DeviceOptions& options = {});
  REPVK_API static std::unique_ptr<Device> adopt(const AdoptedHandles& handles,
                                                 const DeviceOptions& options = {});
  REPVK_API ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  VkInstance instance() const { return instance_; }
  VkPhysicalDevice physical_device() const { return physical_; }
  VkDevice handle() const { return device_; }
  VkQueue queue() const { return queue_; }
  uint32_t queue_family() const { return info_.compute_queue_family; }
  bool owns_handles() const { return owns_; }

  const PhysicalDeviceInfo& info() const { return info_; }
  // Features enabled on the VkDevice (a subset of info().features).
  const DeviceFeatures& enabled() const { return enabled_; }

  // Finds a memory type with all `required` flags, preferring `preferred` too.
  // Returns UINT32_MAX when none exists.
  REPVK_API uint32_t find_memory_type(uint32_t type_bits, VkMemoryPropertyFlags required,
                                      VkMemoryPropertyFlags preferred) const;
  const VkPhysicalDeviceMemoryProperties& memory_properties() const { return memory_; }

  // Submits one command buffer on the queue, optionally waiting on a fence.
  REPVK_API void submit(VkCommandBuffer cmd, VkFence fence);
  // vkQueueSubmit of `count` batches under the queue lock (count 0: only the fence).
  REPVK_API void submit(const VkSubmitInfo* submits, uint32_t count, VkFence fence);
  uint64_t debug_message_count() const { return debug_messages_.load(); }
  // Passes one message to DeviceOptions::on_log, if there is one (repvk/log.h).
  void log(LogLevel level, const std::string& message) const {
    if (on_log_) on_log_(level, message);
  }

  // A device that cannot execute (info().runnable false) only compiles: buffers get
  // no memory, uploads and descriptor writes are skipped, nothing may be submitted.
  bool compile_only() const { return !info_.runnable; }
  // Whether pipelines are created with statistics capture (see DeviceOptions).
  bool captures_pipeline_statistics() const { return enabled_.pipeline_executable_info; }
  // Pipelines created so far while capturing (empty otherwise), in creation order.
  REPVK_API void note_pipeline(CreatedPipeline created);
  REPVK_API std::vector<CreatedPipeline> created_pipelines() const;

  // Device memory repvk holds on this device right now (weights, activations,
  // staging), for an application budgeting its own allocations.
  uint64_t allocated_bytes() const { return allocated_bytes_.load(); }

  // Compiled pipelines shared by every Network on this device, kept until it is
  // destroyed (engine-internal; see engine/src/runtime/pipeline_pool.h).
  PipelinePool& pipeline_pool() const { return *pipeline_pool_; }

  // The fp16-math measurement of this device, made at most once: the first caller runs
  // `measure` (others wait on the lock), every later call returns that record. Used by
  // measure_fp16_math() (repvk/precision.h); cached_fp16_math() only reads it.
  REPVK_API Fp16MathMeasurement fp16_math_once(const std::function<Fp16MathMeasurement()>& measure);
  REPVK_API std::optional<Fp16MathMeasurement> cached_fp16_math() const;

 private:
  Device();
  void init_common();
  static VKAPI_ATTR VkBool32 VKAPI_CALL debug_trampoline(
      VkDebugUtilsMessageSeverityFlagBitsEXT, VkDebugUtilsMessageTypeFlagsEXT,
      const VkDebugUtilsMessengerCallbackDataEXT*, void*);

  bool owns_ = false;
  VkInstance instance_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  PhysicalDeviceInfo info_;
  DeviceFeatures enabled_;
  VkPhysicalDeviceMemoryProperties memory_{};
  DebugCallback on_debug_;
  LogCallback on_log_;
  std::atomic<uint64_t> debug_messages_{0};
  std::atomic<uint64_t> allocated_bytes_{0};
  friend class Buffer;  // keeps allocated_bytes_ current
  // The open UploadBatch of each thread building on this device (registered by it).
  friend class UploadBatch;
  std::mutex upload_batches_mutex_;
  std::vector<std::pair<std::thread::id, UploadBatch*>> upload_batches_;
  mutable std::mutex created_mutex_;
  std::vector<CreatedPipeline> created_;
  std::mutex own_queue_mutex_;
  std::mutex* queue_mutex_ = &own_queue_mutex_;
  std::function<void()> queue_lock_, queue_unlock_;  // AdoptedHandles::queue_lock
  std::unique_ptr<PipelinePool> pipeline_pool_;
  mutable std::mutex fp16_math_mutex_;
  std::optional<Fp16MathMeasurement> fp16_math_;
};

}  // namespace repvk
