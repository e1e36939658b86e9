// Compute pipelines from the embedded SPIR-V registry, specialized with constants,
// created through a VkPipelineCache that is persisted on disk.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <vulkan/vulkan.h>

#include "repvk/device.h"

namespace repvk {

// An on-disk VkPipelineCache. A file from another device/driver is ignored
// (the header's vendor/device/UUID are checked). Saved atomically (temp + rename).
class PipelineCache {
 public:
  // `path` "" or "none" = in-memory only (default_path() names the default file). A non-null `borrowed`
  // (the application's VkPipelineCache) is used instead: never loaded, saved or
  // destroyed here, and `path` is ignored.
  PipelineCache(Device& device, const std::string& path, VkPipelineCache borrowed = VK_NULL_HANDLE);
  ~PipelineCache();  // saves; never throws
  PipelineCache(const PipelineCache&) = delete;
  PipelineCache& operator=(const PipelineCache&) = delete;

  VkPipelineCache handle() const { return cache_; }
  const std::string& path() const { return path_; }
  bool loaded_from_disk() const { return loaded_; }
  void save() const;  // throws Error on I/O failure

  // <dir>/pipelines-<vendor>-<device>.bin (NetworkOptions::pipeline_cache_dir).
  static std::string default_path(const PhysicalDeviceInfo& info, const std::string& dir);

 private:
  Device& device_;
  VkPipelineCache cache_ = VK_NULL_HANDLE;
  std::string path_;
  bool loaded_ = false;
  bool borrowed_ = false;
};

// A compute pipeline with `bindings` storage buffers in set 0 (binding i = i),
// push constants of `push_constant_bytes`, and specialization constant i = spec[i]
// (each a 32-bit value: uint, int, bool as 0/1, or float bits).
class ComputePipeline {
 public:
  ComputePipeline(Device& device, VkPipelineCache cache, std::string_view shader_name,
                  uint32_t bindings, uint32_t push_constant_bytes,
                  const std::vector<uint32_t>& spec);
  // Same, with binding i of type types[i] (storage buffers, sampled images, ...).
  ComputePipeline(Device& device, VkPipelineCache cache, std::string_view shader_name,
                  std::vector<VkDescriptorType> types, uint32_t push_constant_bytes,
                  const std::vector<uint32_t>& spec);
  ~ComputePipeline();
  ComputePipeline(const ComputePipeline&) = delete;
  ComputePipeline& operator=(const ComputePipeline&) = delete;

  VkPipeline handle() const { return pipeline_; }
  VkPipelineLayout layout() const { return layout_; }
  VkDescriptorSetLayout set_layout() const { return set_layout_; }
  uint32_t bindings() const { return bindings_; }
  uint32_t push_constant_bytes() const { return push_bytes_; }

 private:
  Device& device_;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
  uint32_t bindings_ = 0;
  uint32_t push_bytes_ = 0;
};

// Descriptor sets of storage buffers, allocated from one pool owned by this object.
class DescriptorArena {
 public:
  DescriptorArena(Device& device, uint32_t max_sets, uint32_t max_buffers);
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
