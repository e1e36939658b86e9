// SPDX-License-Identifier: MIT
// Compiled compute pipelines shared by every Network on one Device.
//
// Two Networks of one model (or of two models with a layer in common) ask for the same
// pipelines: the same shader, bindings, push-constant bytes and specialization
// constants. The pool hands both the same VkPipeline, so a Network created after the
// first compiles nothing. Besides the time, this matters for memory: some drivers keep
// memory for every pipeline they compile even after it is destroyed (lavapipe, Mesa
// 22.3.6, about 0.5 MiB each; docs/testing.md, "Soak tests"), so recompiling on every
// Network lifetime grows a long-running process without bound.
//
// Entries live until the Device is destroyed; the pool holds one per distinct
// pipeline ever asked for, which bounds it by the models an application loads.
#pragma once

#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace repvk {

// The Vulkan objects of one compiled pipeline; destroyed with the last user.
struct PipelineObjects {
  VkDevice device = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline pipeline = VK_NULL_HANDLE;

  PipelineObjects() = default;
  ~PipelineObjects();
  PipelineObjects(const PipelineObjects&) = delete;
  PipelineObjects& operator=(const PipelineObjects&) = delete;
};

class PipelinePool {
 public:
  PipelinePool() = default;
  PipelinePool(const PipelinePool&) = delete;
  PipelinePool& operator=(const PipelinePool&) = delete;

  // The pipeline stored under `key`, made by `create` (outside the pool's lock, so
  // threads compile different pipelines at once) when there is none yet. Exceptions
  // from `create` pass through and store nothing.
  std::shared_ptr<const PipelineObjects> get(
      const std::string& key, const std::function<std::unique_ptr<PipelineObjects>()>& create);

  size_t size() const;      // distinct pipelines held
  uint64_t reused() const;  // get() calls answered without compiling

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const PipelineObjects>> entries_;
  uint64_t reused_ = 0;
};

}  // namespace repvk
