// SPDX-License-Identifier: MIT
// Buffers and host<->device transfers. Staging is skipped when the memory type is
// both device-local and host-visible (integrated GPUs, lavapipe).
#pragma once

#include <cstdint>
#include <vector>

#include <vulkan/vulkan.h>

#include "repvk/device.h"
#include "repvk/image_input.h"

namespace repvk {

enum class MemoryUsage {
  DeviceLocal,  // GPU-only data (weights, activations); host-visible if unified
  Upload,       // host-visible, coherent: host writes, GPU reads
  Readback,     // host-visible, cached preferred: GPU writes, host reads
};

// A VkBuffer with its own dedicated allocation. Move-only. Usage is always
// STORAGE | TRANSFER_SRC | TRANSFER_DST | UNIFORM_TEXEL. Persistently mapped when host-visible.
class Buffer {
 public:
  Buffer() = default;
  // Throws Error if `bytes` exceeds the device's maxStorageBufferRange or
  // maxMemoryAllocationSize, VulkanError if allocation fails.
  Buffer(Device& device, VkDeviceSize bytes, MemoryUsage usage);
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  VkBuffer handle() const { return buffer_; }
  VkDeviceSize size() const { return size_; }
  bool host_visible() const { return mapped_ != nullptr; }
  void* mapped() const { return mapped_; }
  bool valid() const { return buffer_ != VK_NULL_HANDLE; }

  // Makes host writes visible to the device / device writes visible to the host
  // (no-ops on coherent memory).
  void flush_host_writes() const;
  void invalidate_for_host_reads() const;

 private:
  void release() noexcept;
  Device* device_ = nullptr;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  VkDeviceSize size_ = 0;
  void* mapped_ = nullptr;
  bool coherent_ = true;
  VkDeviceSize allocated_ = 0;  // counted in Device::allocated_bytes()
};

// Copies host data into a buffer. While an UploadBatch is open on `device` on this
// thread, the batch takes it (see there); otherwise directly when mapped, else through
// a staging buffer of its own and a blocking transfer on the device's queue.
void upload(Device& device, Buffer& dst, const void* src, VkDeviceSize bytes,
            VkDeviceSize dst_offset = 0);

// Gathers the staged uploads of one thread on one Device (a Network's weights) into
// a few large staging buffers and one submission, instead of a staging buffer, command
// pool, fence and wait per upload. While it lives, upload() on this thread and device
// lands here; nothing reaches the destination until submit(), so it must not be open
// around work that reads what was uploaded. Destroying it unsubmitted drops the copies
// (an exception during the Network build: the destinations are gone too).
class UploadBatch {
 public:
  // stage_mapped: stage even buffers the host can map (tests exercise the staged path
  // on unified-memory devices with it); otherwise those are written at once.
  explicit UploadBatch(Device& device, bool stage_mapped = false);
  ~UploadBatch();
  UploadBatch(const UploadBatch&) = delete;
  UploadBatch& operator=(const UploadBatch&) = delete;

  void add(Buffer& dst, const void* src, VkDeviceSize bytes, VkDeviceSize dst_offset = 0);
  // Records every pending copy into one command buffer, submits it and waits. A batch
  // whose staged bytes would pass kMaxStagedBytes submits early, so a huge model holds
  // at most that much staging memory at once.
  void submit();

  static constexpr VkDeviceSize kMaxStagedBytes = VkDeviceSize(64) << 20;
  uint32_t submissions() const { return submissions_; }   // so far
  size_t staging_buffers() const { return chunks_.size(); }  // pending
  size_t pending_copies() const { return copies_.size(); }

  // The batch open on `device` on the calling thread (the latest one), or null.
  static UploadBatch* active(Device& device);

 private:
  struct Chunk {
    Buffer staging;
    VkDeviceSize used = 0;
  };
  struct Copy {
    VkBuffer dst;
    size_t chunk;
    VkBufferCopy region;
  };
  Device& device_;
  bool stage_mapped_;
  std::vector<Chunk> chunks_;
  std::vector<Copy> copies_;
  VkDeviceSize staged_ = 0;
  uint32_t submissions_ = 0;
};
// Copies buffer contents back to the host (blocking).
void download(Device& device, const Buffer& src, void* dst, VkDeviceSize bytes,
              VkDeviceSize src_offset = 0);
// Fills a buffer with a 32-bit pattern (used to poison outputs in tests).
void fill(Device& device, Buffer& dst, uint32_t pattern);

// Records a compute->compute (and transfer) memory barrier.
void record_compute_barrier(VkCommandBuffer cmd);

// A primary command buffer from its own pool, with a fence. Neither copyable nor
// movable (it holds a Device&); keep it in a unique_ptr to move it.
class CommandContext {
 public:
  explicit CommandContext(Device& device);
  ~CommandContext();
  CommandContext(const CommandContext&) = delete;
  CommandContext& operator=(const CommandContext&) = delete;

  VkCommandBuffer begin();         // waits for a pending submission, resets, begins
  void end_submit_wait();          // ends, submits, waits on the fence
  // Ends and submits with `sync`'s semaphores without waiting; sync.fence, when set,
  // is signalled by an empty submission right after (a batch has only one fence).
  void end_submit(const SubmitSync& sync);
  bool done() const;               // true when no submission is pending any more
  void wait();                     // blocks until the last submission finished
  VkCommandBuffer handle() const { return cmd_; }

 private:
  Device& device_;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  bool pending_ = false;
};

}  // namespace repvk
