// SPDX-License-Identifier: MIT
// Compute pipelines from the embedded SPIR-V registry, specialized with constants,
// created through a VkPipelineCache that is persisted on disk.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <vulkan/vulkan.h>

#include "repvk/device.h"
#include "runtime/pipeline_pool.h"

namespace repvk {

// An on-disk VkPipelineCache. The file is the driver's data behind a small frame
// (magic, byte count, CRC-32); a file that is truncated, corrupt, or from another
// device/driver (the VkPipelineCache header's vendor/device/UUID) is ignored, never
// given to the driver, and rewritten. Saved atomically (unique temp file, fsync,
// rename), so concurrent writers, threads or processes, always leave a valid file.
class PipelineCache {
 public:
  // `path` "" or "none" = in-memory only (default_path() names the default file). A non-null `borrowed`
  // (the application's VkPipelineCache) is used instead: never loaded, saved or
  // destroyed here, and `path` is ignored. `note` (optional) receives one line
  // about what was loaded, ignored and why, and written.
  PipelineCache(Device& device, const std::string& path, VkPipelineCache borrowed = VK_NULL_HANDLE,
                std::function<void(const std::string&)> note = {});
  ~PipelineCache();  // saves; never throws
  PipelineCache(const PipelineCache&) = delete;
  PipelineCache& operator=(const PipelineCache&) = delete;

  VkPipelineCache handle() const { return cache_; }
  const std::string& path() const { return path_; }
  bool loaded_from_disk() const { return loaded_; }
  void save() const;  // throws Error on I/O failure

  // <dir>/pipelines-<vendor>-<device>.bin (NetworkOptions::pipeline_cache_dir).
  static std::string default_path(const PhysicalDeviceInfo& info, const std::string& dir);
  // Why the contents of a cache file cannot be used on the device with `props`;
  // "" when they can.
  static std::string check_file(const std::vector<char>& file,
                                const VkPhysicalDeviceProperties& props);

 private:
  void tell(const std::string& message) const;

  Device& device_;
  VkPipelineCache cache_ = VK_NULL_HANDLE;
  std::string path_;
  bool loaded_ = false;
  bool borrowed_ = false;
  mutable bool saved_ = false;
  std::function<void(const std::string&)> note_;
};

// One specialization constant: `layout(constant_id = id)` in the shader and its
// 32-bit value (uint, int, bool as 0/1, or float bits). Each op names its shader's ids.
struct SpecConstant {
  uint32_t id;
  uint32_t value;
};

// A compute pipeline with `bindings` storage buffers in set 0 (binding i = i),
// push constants of `push_constant_bytes`, and the given specialization constants
// (ids not listed keep the shader's defaults). The Vulkan objects come from the
// Device's PipelinePool (runtime/pipeline_pool.h): equal requests share one compiled
// pipeline, and only the first compiles it (through `cache`).
class ComputePipeline {
 public:
  ComputePipeline(Device& device, VkPipelineCache cache, std::string_view shader_name,
                  uint32_t bindings, uint32_t push_constant_bytes,
                  const std::vector<SpecConstant>& spec);
  // Same, with binding i of type types[i] (storage buffers, sampled images, ...).
  ComputePipeline(Device& device, VkPipelineCache cache, std::string_view shader_name,
                  std::vector<VkDescriptorType> types, uint32_t push_constant_bytes,
                  const std::vector<SpecConstant>& spec);
  ~ComputePipeline();
  ComputePipeline(const ComputePipeline&) = delete;
  ComputePipeline& operator=(const ComputePipeline&) = delete;

  VkPipeline handle() const { return objects_->pipeline; }
  VkPipelineLayout layout() const { return objects_->layout; }
  VkDescriptorSetLayout set_layout() const { return objects_->set_layout; }
  uint32_t bindings() const { return bindings_; }
  const std::vector<VkDescriptorType>& binding_types() const { return types_; }
  uint32_t push_constant_bytes() const { return push_bytes_; }
  // The embedded shader variant it runs, e.g. "conv3x3_tiled_4x16_sg8_f32".
  const std::string& shader_name() const { return shader_name_; }

 private:
  std::shared_ptr<const PipelineObjects> objects_;
  uint32_t bindings_ = 0;
  std::vector<VkDescriptorType> types_;
  uint32_t push_bytes_ = 0;
  std::string shader_name_;
};

// Descriptors a set of pipelines needs, by type (sizes a DescriptorArena).
struct DescriptorCounts {
  uint32_t sets = 0;
  uint32_t storage_buffers = 0;
  uint32_t texel_buffers = 0;  // VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
  // One set for `pipeline`.
  void add(const ComputePipeline& pipeline);
};

// Descriptor sets of storage and texel buffers, allocated from one pool owned by this object.
class DescriptorArena {
 public:
  // Room for max_sets sets of up to max_buffers bindings of either type.
  DescriptorArena(Device& device, uint32_t max_sets, uint32_t max_buffers);
  // Room for exactly `counts`.
  DescriptorArena(Device& device, const DescriptorCounts& counts);
  ~DescriptorArena();
  DescriptorArena(const DescriptorArena&) = delete;
  DescriptorArena& operator=(const DescriptorArena&) = delete;

  // Allocates a set for `pipeline` and writes buffers[i] (whole range) to binding i.
  VkDescriptorSet allocate(const ComputePipeline& pipeline,
                           const std::vector<VkBuffer>& buffers);

  // Binding i is a storage buffer (`buffer`, whole range) or a texel buffer (`view`).
  struct Binding {
    VkDescriptorType type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    VkBuffer buffer = VK_NULL_HANDLE;
    VkBufferView view = VK_NULL_HANDLE;
  };
  VkDescriptorSet allocate_bindings(const ComputePipeline& pipeline, const std::vector<Binding>& bindings);

 private:
  Device& device_;
  VkDescriptorPool pool_ = VK_NULL_HANDLE;
};

// Binds pipeline + set, pushes constants, dispatches.
void record_dispatch(VkCommandBuffer cmd, const ComputePipeline& pipeline, VkDescriptorSet set,
                     const void* push_constants, uint32_t groups_x, uint32_t groups_y,
                     uint32_t groups_z);

}  // namespace repvk
