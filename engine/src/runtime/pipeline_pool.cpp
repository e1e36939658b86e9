// SPDX-License-Identifier: MIT
#include "runtime/pipeline_pool.h"

#include <utility>

namespace repvk {

PipelineObjects::~PipelineObjects() {
  if (device == VK_NULL_HANDLE) return;
  vkDestroyPipeline(device, pipeline, nullptr);
  vkDestroyPipelineLayout(device, layout, nullptr);
  vkDestroyDescriptorSetLayout(device, set_layout, nullptr);
}

std::shared_ptr<const PipelineObjects> PipelinePool::get(
    const std::string& key, const std::function<std::unique_ptr<PipelineObjects>()>& create) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      ++reused_;
      return it->second;
    }
  }
  std::shared_ptr<const PipelineObjects> made = create();
  std::lock_guard<std::mutex> lock(mutex_);
  // Another thread may have compiled the same pipeline meanwhile: keep the first one
  // (ours is destroyed when `made` goes out of scope).
  auto [it, inserted] = entries_.emplace(key, std::move(made));
  if (!inserted) ++reused_;
  return it->second;
}

size_t PipelinePool::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

uint64_t PipelinePool::reused() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reused_;
}

}  // namespace repvk
