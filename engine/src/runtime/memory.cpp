// SPDX-License-Identifier: MIT
#include "runtime/memory.h"

#include <algorithm>
#include <cstring>
#include <thread>
#include <string>
#include <utility>

#include "repvk/error.h"

namespace repvk {

Buffer::Buffer(Device& device, VkDeviceSize bytes, MemoryUsage usage) : device_(&device) {
  const DeviceLimits& limits = device.info().limits;
  if (bytes == 0) bytes = 4;  // zero-sized buffers are invalid; keep bindings legal
  if (bytes > limits.max_storage_buffer_range)
    throw Error("buffer of " + std::to_string(bytes) + " bytes exceeds the device's "
                "maxStorageBufferRange (" + std::to_string(limits.max_storage_buffer_range) +
                " bytes); use a smaller batch");
  if (limits.max_memory_allocation_size && bytes > limits.max_memory_allocation_size)
    throw Error("buffer of " + std::to_string(bytes) + " bytes exceeds the device's "
                "maxMemoryAllocationSize (" +
                std::to_string(limits.max_memory_allocation_size) + " bytes)");
  size_ = bytes;
  // A compile-only device has no memory: the buffer keeps its size and no handle, so
  // that planning (pipelines, chunk sizes) runs unchanged and nothing is allocated.
  if (device.compile_only()) return;
  VkDevice dev = device.handle();

  VkBufferCreateInfo ci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  ci.size = bytes;
  // Texel-buffer usage too: conv3x3_texel and fully_connected_texel read activations
  // and weights through buffer views (it costs nothing on buffers that are never viewed).
  ci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
             VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT;
  ci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  vk_check(vkCreateBuffer(dev, &ci, nullptr, &buffer_), "vkCreateBuffer");

  VkMemoryRequirements req{};
  vkGetBufferMemoryRequirements(dev, buffer_, &req);

  constexpr VkMemoryPropertyFlags kLocal = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  constexpr VkMemoryPropertyFlags kHost =
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  uint32_t type = UINT32_MAX;
  switch (usage) {
    case MemoryUsage::DeviceLocal:
      // Unified memory: device-local and mappable means uploads skip staging.
      type = device.find_memory_type(req.memoryTypeBits, kLocal, kHost);
      break;
    case MemoryUsage::Upload:
      type = device.find_memory_type(req.memoryTypeBits, kHost, 0);
      break;
    case MemoryUsage::Readback:
      type = device.find_memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                                     VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
      break;
  }
  if (type == UINT32_MAX && usage == MemoryUsage::DeviceLocal)
    type = device.find_memory_type(req.memoryTypeBits, 0, 0);
  if (type == UINT32_MAX) {
    release();
    throw Error("no suitable Vulkan memory type for a buffer");
  }

  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = type;
  VkResult r = vkAllocateMemory(dev, &ai, nullptr, &memory_);
  if (r != VK_SUCCESS) {
    release();
    throw VulkanError(r, "vkAllocateMemory(" + std::to_string(req.size) + " bytes)");
  }
  allocated_ = req.size;
  device.allocated_bytes_.fetch_add(allocated_);
  r = vkBindBufferMemory(dev, buffer_, memory_, 0);
  if (r != VK_SUCCESS) {
    release();
    throw VulkanError(r, "vkBindBufferMemory");
  }
  const VkMemoryPropertyFlags flags = device.memory_properties().memoryTypes[type].propertyFlags;
  coherent_ = (flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0;
  if (flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
    r = vkMapMemory(dev, memory_, 0, VK_WHOLE_SIZE, 0, &mapped_);
    if (r != VK_SUCCESS) {
      release();
      throw VulkanError(r, "vkMapMemory");
    }
  }
}

Buffer::~Buffer() { release(); }

Buffer::Buffer(Buffer&& o) noexcept { *this = std::move(o); }

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    release();
    device_ = o.device_;
    buffer_ = std::exchange(o.buffer_, VK_NULL_HANDLE);
    memory_ = std::exchange(o.memory_, VK_NULL_HANDLE);
    size_ = std::exchange(o.size_, 0);
    mapped_ = std::exchange(o.mapped_, nullptr);
    coherent_ = o.coherent_;
    allocated_ = std::exchange(o.allocated_, 0);
  }
  return *this;
}

void Buffer::release() noexcept {
  if (!device_) return;
  VkDevice dev = device_->handle();
  if (mapped_) vkUnmapMemory(dev, memory_);
  if (buffer_) vkDestroyBuffer(dev, buffer_, nullptr);
  if (memory_) vkFreeMemory(dev, memory_, nullptr);
  device_->allocated_bytes_.fetch_sub(allocated_);
  allocated_ = 0;
  buffer_ = VK_NULL_HANDLE;
  memory_ = VK_NULL_HANDLE;
  mapped_ = nullptr;
}

void Buffer::flush_host_writes() const {
  if (!mapped_ || coherent_) return;
  VkMappedMemoryRange range{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE};
  range.memory = memory_;
  range.size = VK_WHOLE_SIZE;
  vk_check(vkFlushMappedMemoryRanges(device_->handle(), 1, &range), "vkFlushMappedMemoryRanges");
}

void Buffer::invalidate_for_host_reads() const {
  if (!mapped_ || coherent_) return;
  VkMappedMemoryRange range{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE};
  range.memory = memory_;
  range.size = VK_WHOLE_SIZE;
  vk_check(vkInvalidateMappedMemoryRanges(device_->handle(), 1, &range),
           "vkInvalidateMappedMemoryRanges");
}

namespace {

void check_range(const Buffer& b, VkDeviceSize bytes, VkDeviceSize offset, const char* what) {
  if (offset > b.size() || bytes > b.size() - offset)
    throw Error(std::string(what) + ": " + std::to_string(bytes) + " bytes at offset " +
                std::to_string(offset) + " exceed the buffer's " + std::to_string(b.size()));
}

}  // namespace

void upload(Device& device, Buffer& dst, const void* src, VkDeviceSize bytes,
            VkDeviceSize dst_offset) {
  check_range(dst, bytes, dst_offset, "upload");
  if (bytes == 0 || device.compile_only()) return;  // planning only: nothing to hold it
  if (UploadBatch* batch = UploadBatch::active(device)) {
    batch->add(dst, src, bytes, dst_offset);
    return;
  }
  if (dst.host_visible()) {
    std::memcpy(static_cast<uint8_t*>(dst.mapped()) + dst_offset, src, bytes);
    dst.flush_host_writes();
    return;
  }
  // A single upload stages exactly its bytes (a batch's first staging buffer is 4 MiB).
  Buffer staging(device, bytes, MemoryUsage::Upload);
  std::memcpy(staging.mapped(), src, bytes);
  staging.flush_host_writes();
  CommandContext ctx(device);
  VkCommandBuffer cmd = ctx.begin();
  VkBufferCopy region{0, dst_offset, bytes};
  vkCmdCopyBuffer(cmd, staging.handle(), dst.handle(), 1, &region);
  ctx.end_submit_wait();
}

UploadBatch::UploadBatch(Device& device, bool stage_mapped)
    : device_(device), stage_mapped_(stage_mapped) {
  std::lock_guard<std::mutex> lock(device_.upload_batches_mutex_);
  device_.upload_batches_.emplace_back(std::this_thread::get_id(), this);
}

UploadBatch::~UploadBatch() {
  std::lock_guard<std::mutex> lock(device_.upload_batches_mutex_);
  auto& open = device_.upload_batches_;
  open.erase(std::find(open.begin(), open.end(), std::make_pair(std::this_thread::get_id(), this)));
}

UploadBatch* UploadBatch::active(Device& device) {
  std::lock_guard<std::mutex> lock(device.upload_batches_mutex_);
  const auto& open = device.upload_batches_;
  for (auto it = open.rbegin(); it != open.rend(); ++it)
    if (it->first == std::this_thread::get_id()) return it->second;
  return nullptr;
}

void UploadBatch::add(Buffer& dst, const void* src, VkDeviceSize bytes, VkDeviceSize dst_offset) {
  check_range(dst, bytes, dst_offset, "upload");
  if (bytes == 0 || device_.compile_only()) return;
  if (dst.host_visible() && !stage_mapped_) {
    std::memcpy(static_cast<uint8_t*>(dst.mapped()) + dst_offset, src, bytes);
    dst.flush_host_writes();
    return;
  }
  if (staged_ > 0 && staged_ + bytes > kMaxStagedBytes) submit();
  // Staging grows by doubling from 4 MiB (up to the cap), so a model's weights take a
  // handful of staging buffers; offsets stay 16-byte aligned for the memcpy.
  constexpr VkDeviceSize kFirstChunk = VkDeviceSize(4) << 20, kAlign = 16;
  if (chunks_.empty() || chunks_.back().staging.size() - chunks_.back().used < bytes) {
    const VkDeviceSize grown =
        chunks_.empty() ? kFirstChunk : std::min(2 * chunks_.back().staging.size(), kMaxStagedBytes);
    chunks_.push_back({Buffer(device_, std::max(grown, bytes), MemoryUsage::Upload), 0});
  }
  Chunk& chunk = chunks_.back();
  std::memcpy(static_cast<uint8_t*>(chunk.staging.mapped()) + chunk.used, src, bytes);
  copies_.push_back({dst.handle(), chunks_.size() - 1, VkBufferCopy{chunk.used, dst_offset, bytes}});
  chunk.used = std::min(chunk.staging.size(), (chunk.used + bytes + kAlign - 1) / kAlign * kAlign);
  staged_ += bytes;
}

void UploadBatch::submit() {
  if (copies_.empty()) return;
  for (const Chunk& c : chunks_) c.staging.flush_host_writes();
  CommandContext ctx(device_);
  VkCommandBuffer cmd = ctx.begin();
  for (const Copy& c : copies_) vkCmdCopyBuffer(cmd, chunks_[c.chunk].staging.handle(), c.dst, 1, &c.region);
  ctx.end_submit_wait();
  ++submissions_;
  copies_.clear();
  chunks_.clear();
  staged_ = 0;
}

void download(Device& device, const Buffer& src, void* dst, VkDeviceSize bytes,
              VkDeviceSize src_offset) {
  check_range(src, bytes, src_offset, "download");
  if (bytes == 0) return;
  if (device.compile_only())
    throw Error("download: " + device.info().name + " is a compile-only device");
  if (src.host_visible()) {
    src.invalidate_for_host_reads();
    std::memcpy(dst, static_cast<const uint8_t*>(src.mapped()) + src_offset, bytes);
    return;
  }
  Buffer staging(device, bytes, MemoryUsage::Readback);
  CommandContext ctx(device);
  VkCommandBuffer cmd = ctx.begin();
  VkBufferCopy region{src_offset, 0, bytes};
  vkCmdCopyBuffer(cmd, src.handle(), staging.handle(), 1, &region);
  VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                       &barrier, 0, nullptr, 0, nullptr);
  ctx.end_submit_wait();
  staging.invalidate_for_host_reads();
  std::memcpy(dst, staging.mapped(), bytes);
}

void fill(Device& device, Buffer& dst, uint32_t pattern) {
  CommandContext ctx(device);
  VkCommandBuffer cmd = ctx.begin();
  vkCmdFillBuffer(cmd, dst.handle(), 0, VK_WHOLE_SIZE, pattern);
  ctx.end_submit_wait();
}

void record_compute_barrier(VkCommandBuffer cmd) {
  VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  barrier.dstAccessMask =
      VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT;
  vkCmdPipelineBarrier(cmd,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0,
                       1, &barrier, 0, nullptr, 0, nullptr);
}

CommandContext::CommandContext(Device& device) : device_(device) {
  VkDevice dev = device.handle();
  VkCommandPoolCreateInfo pool_ci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool_ci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pool_ci.queueFamilyIndex = device.queue_family();
  vk_check(vkCreateCommandPool(dev, &pool_ci, nullptr, &pool_), "vkCreateCommandPool");
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = pool_;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkResult r = vkAllocateCommandBuffers(dev, &ai, &cmd_);
  if (r == VK_SUCCESS) r = vkCreateFence(dev, &fci, nullptr, &fence_);
  if (r != VK_SUCCESS) {
    vkDestroyCommandPool(dev, pool_, nullptr);
    throw VulkanError(r, "CommandContext");
  }
}

CommandContext::~CommandContext() {
  VkDevice dev = device_.handle();
  // Never free a command buffer the GPU may still execute.
  if (pending_) vkWaitForFences(dev, 1, &fence_, VK_TRUE, UINT64_MAX);
  vkDestroyFence(dev, fence_, nullptr);
  vkDestroyCommandPool(dev, pool_, nullptr);
}

VkCommandBuffer CommandContext::begin() {
  wait();
  vk_check(vkResetCommandBuffer(cmd_, 0), "vkResetCommandBuffer");
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vk_check(vkBeginCommandBuffer(cmd_, &bi), "vkBeginCommandBuffer");
  return cmd_;
}

void CommandContext::end_submit_wait() {
  vk_check(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
  vk_check(vkResetFences(device_.handle(), 1, &fence_), "vkResetFences");
  device_.submit(cmd_, fence_);
  pending_ = true;
  wait();
}

void CommandContext::end_submit(const SubmitSync& sync) {
  if (sync.wait_stages.size() != sync.wait_semaphores.size())
    throw Error("SubmitSync: " + std::to_string(sync.wait_semaphores.size()) +
                " wait semaphores but " + std::to_string(sync.wait_stages.size()) + " wait stages");
  vk_check(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
  vk_check(vkResetFences(device_.handle(), 1, &fence_), "vkResetFences");
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.waitSemaphoreCount = static_cast<uint32_t>(sync.wait_semaphores.size());
  si.pWaitSemaphores = sync.wait_semaphores.data();
  si.pWaitDstStageMask = sync.wait_stages.data();
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd_;
  si.signalSemaphoreCount = static_cast<uint32_t>(sync.signal_semaphores.size());
  si.pSignalSemaphores = sync.signal_semaphores.data();
  device_.submit(&si, 1, fence_);
  pending_ = true;
  // A fence on an empty submission signals once all earlier work on the queue is done.
  if (sync.fence != VK_NULL_HANDLE) device_.submit(nullptr, 0, sync.fence);
}

bool CommandContext::done() const {
  if (!pending_) return true;
  const VkResult r = vkGetFenceStatus(device_.handle(), fence_);
  if (r == VK_NOT_READY) return false;
  vk_check(r, "vkGetFenceStatus");
  return true;
}

void CommandContext::wait() {
  if (!pending_) return;
  vk_check(vkWaitForFences(device_.handle(), 1, &fence_, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  pending_ = false;
}

}  // namespace repvk
