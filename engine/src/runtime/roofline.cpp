// SPDX-License-Identifier: MIT
// Peak multiply-add rate and copy bandwidth, measured with shaders/roofline_*.comp.
// Host wall-clock around a submit-and-wait is enough here: each submission is grown
// until it runs for min_seconds, so the fixed submission cost stays in the noise,
// and it works on devices without timestamp queries.
#include "repvk/roofline.h"

#include <algorithm>
#include <chrono>

#include "runtime/memory.h"
#include "runtime/pipeline.h"
#include "repvk/error.h"

namespace repvk {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kWorkgroup = 64;
// Specialization constant id of shaders/roofline_fma.comp and roofline_copy.comp.
constexpr uint32_t kSpecWorkgroup = 0;

// Must match the push_constant block of shaders/roofline_fma.comp.
struct FmaPush {
  uint32_t iters;
};
static_assert(sizeof(FmaPush) == 4, "shaders/roofline_fma.comp: 4 bytes of push constants");

// Must match the push_constant block of shaders/roofline_copy.comp.
struct CopyPush {
  uint32_t n, stride;
};
static_assert(sizeof(CopyPush) == 8, "shaders/roofline_copy.comp: 8 bytes of push constants");

// Seconds of one submission of `record`, best of `repeats`, after one warm-up.
template <class Record>
double best_seconds(Device& device, int repeats, Record record) {
  CommandContext ctx(device);
  double best = 1e30;
  for (int r = 0; r <= repeats; ++r) {
    VkCommandBuffer cmd = ctx.begin();
    record(cmd);
    const auto t0 = Clock::now();
    ctx.end_submit_wait();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (r > 0) best = std::min(best, s);  // r == 0 compiles and warms caches
  }
  return best;
}

double fma_gflops(Device& device, bool fp16, const RooflineOptions& o) {
  // Enough workgroups to fill any device (lavapipe runs one per thread at a time).
  const uint32_t groups = 1024;
  const uint64_t invocations = uint64_t(groups) * kWorkgroup;
  Buffer sink(device, invocations * sizeof(float), MemoryUsage::DeviceLocal);
  ComputePipeline pipe(device, VK_NULL_HANDLE, fp16 ? "roofline_fma_f16" : "roofline_fma_f32", 1,
                       sizeof(FmaPush), {{kSpecWorkgroup, kWorkgroup}});
  DescriptorArena arena(device, 1, 1);
  const VkDescriptorSet set = arena.allocate(pipe, {sink.handle()});
  FmaPush push{16};
  uint32_t& iters = push.iters;
  for (;;) {
    const double s = best_seconds(device, 1, [&](VkCommandBuffer cmd) {
      record_dispatch(cmd, pipe, set, &push, groups, 1, 1);
    });
    if (s >= o.min_seconds || iters >= (1u << 30)) break;
    iters = uint32_t(std::min<double>(double(iters) * std::max(2.0, 1.2 * o.min_seconds / s),
                                      double(1u << 30)));
  }
  const double s = best_seconds(device, o.repeats, [&](VkCommandBuffer cmd) {
    record_dispatch(cmd, pipe, set, &push, groups, 1, 1);
  });
  return double(invocations) * iters * 256.0 / s * 1e-9;
}

double copy_gbps(Device& device, const RooflineOptions& o, bool texel) {
  const DeviceLimits& l = device.info().limits;
  uint64_t bytes = std::min<uint64_t>(o.copy_bytes, l.max_storage_buffer_range);
  if (l.max_memory_allocation_size) bytes = std::min<uint64_t>(bytes, l.max_memory_allocation_size);
  bytes = std::max<uint64_t>(bytes / 16 * 16, 16);
  Buffer src(device, bytes, MemoryUsage::DeviceLocal), dst(device, bytes, MemoryUsage::DeviceLocal);
  if (texel) {
    bytes = std::min<uint64_t>(bytes, uint64_t(l.max_texel_buffer_elements) * 16);
    bytes = std::max<uint64_t>(bytes / 16 * 16, 16);
  }
  const VkDescriptorType src_type =
      texel ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
  ComputePipeline pipe(device, VK_NULL_HANDLE, texel ? "roofline_copy_texel" : "roofline_copy",
                       std::vector<VkDescriptorType>{src_type, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER},
                       sizeof(CopyPush), {{kSpecWorkgroup, kWorkgroup}});
  VkBufferView view = VK_NULL_HANDLE;
  if (texel) {
    VkBufferViewCreateInfo vi{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
    vi.buffer = src.handle();
    vi.format = VK_FORMAT_R32G32B32A32_SFLOAT;
    vi.range = bytes;
    vk_check(vkCreateBufferView(device.handle(), &vi, nullptr, &view), "vkCreateBufferView");
  }
  struct ViewGuard {
    VkDevice d;
    VkBufferView v;
    ~ViewGuard() { if (v) vkDestroyBufferView(d, v, nullptr); }
  } guard{device.handle(), view};
  DescriptorArena arena(device, 1, 2);
  using B = DescriptorArena::Binding;
  const VkDescriptorSet set = arena.allocate_bindings(
      pipe, std::vector<B>{{src_type, src.handle(), view},
                           {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, dst.handle(), VK_NULL_HANDLE}});
  const uint32_t groups = std::min<uint32_t>(1024, l.max_workgroup_count[0]);
  const CopyPush push{uint32_t(bytes / 16), groups * kWorkgroup};
  uint32_t copies = 1;
  auto record = [&](VkCommandBuffer cmd) {
    for (uint32_t i = 0; i < copies; ++i) {
      record_dispatch(cmd, pipe, set, &push, groups, 1, 1);
      // Each copy must finish before the next rewrites the same bytes.
      VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
      b.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
      b.dstAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
      vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                           VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &b, 0, nullptr, 0, nullptr);
    }
  };
  for (;;) {
    const double s = best_seconds(device, 1, record);
    if (s >= o.min_seconds || copies >= 4096) break;
    copies = uint32_t(std::min(4096.0, double(copies) * std::max(2.0, 1.2 * o.min_seconds / s)));
  }
  const double s = best_seconds(device, o.repeats, record);
  return 2.0 * double(bytes) * copies / s * 1e-9;
}

}  // namespace

RooflinePeaks measure_roofline(Device& device, const RooflineOptions& options) {
  if (!(options.min_seconds > 0) || options.repeats < 1)
    throw Error("measure_roofline: min_seconds must be > 0 and repeats >= 1");
  const auto t0 = Clock::now();
  RooflinePeaks p;
  p.fp32_gflops = fma_gflops(device, false, options);
  if (device.enabled().float16) p.fp16_gflops = fma_gflops(device, true, options);
  p.copy_gbps = copy_gbps(device, options, false);
  p.texel_copy_gbps = copy_gbps(device, options, true);
  p.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return p;
}

}  // namespace repvk
