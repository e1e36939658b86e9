// The one table of conv3x3 tile sizes per device class, and the functions that fit
// it to a layer and to the device's limits. Every number in the table was measured
// (docs/benchmarks.md, "Kernel log") unless its comment says otherwise.
#include "ops/conv3x3_tuning.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace repvk {

const ConvTuning& conv_tuning(VkPhysicalDeviceType type) {
  // CPU devices (lavapipe) run each invocation as one SIMD lane, every storage or
  // shared load as a per-lane loop, and texel fetches as gathers: they want the most
  // multiply-adds per load. Tiled 4x16 with 16-channel chunks measured best there;
  // texel 4x8 tied 4x16 and beat 8x8, 8x16, 2x8 and 4x4; workgroup sizes 16-64 tied.
  static constexpr ConvTuning kCpu{4, 16, 64, 16, 4, 8, 64};
  // GPUs want more invocations in flight and fewer registers each. Not measured yet
  // (no GPU was available): a conventional starting point.
  static constexpr ConvTuning kGpu{4, 8, 64, 16, 4, 8, 64};
  return type == VK_PHYSICAL_DEVICE_TYPE_CPU ? kCpu : kGpu;
}

uint64_t tiled_shared_bytes(const TiledConvConfig& c, const ops::LayerWeights& w) {
  return uint64_t(c.cin_chunk) * 9 * c.oc_block * sizeof(float) + w.shared_bytes(c.oc_block);
}

std::string tiled_shader_name(const TiledConvConfig& c, bool fp16) {
  return "conv3x3_tiled_" + std::to_string(c.px) + "x" + std::to_string(c.oc_block) +
         (c.subgroup_broadcast ? "_sg8_" : "_") + ops::act_suffix(fp16);
}

std::string texel_shader_name(const TexelConvConfig& c, bool fp16) {
  return "conv3x3_texel_" + std::to_string(c.px) + "x" + std::to_string(c.oc_block) + "_" +
         ops::act_suffix(fp16);
}

namespace {
uint32_t round_up4(uint32_t v) { return (v + 3) / 4 * 4; }
}  // namespace

TiledConvConfig choose_tiled_config(const PhysicalDeviceInfo& device, const TensorShape& output,
                                    uint32_t in_channels, uint32_t batch_hint,
                                    const ops::LayerWeights& weights,
                                    const ConvTuningOverride& tuning) {
  const DeviceLimits& limits = device.limits;
  const bool cpu = device.type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  TiledConvConfig c;
  const ConvTuning& t = conv_tuning(device.type);
  uint32_t px = t.tiled_px;
  uint32_t oc = t.tiled_oc;
  uint32_t wg = t.tiled_workgroup;
  uint32_t chunk = t.tiled_cin_chunk;
  if (const ConvTileOverride& o = tuning.tile; o.px && o.oc && o.workgroup && o.cin_chunk) {
    px = o.px;
    oc = o.oc;
    wg = o.workgroup;
    chunk = o.cin_chunk;
  }
  // Only compiled blocks (shaders/CMakeLists.txt): 4x4, 4x8, 4x16, 8x8.
  c.px = px >= 8 ? 8 : 4;
  c.oc_block = c.px == 8 ? 8 : (oc >= 16 ? 16 : oc >= 8 ? 8 : 4);
  // Channels past Cout are computed and discarded: narrow layers get narrow blocks.
  while (c.oc_block > 4 && c.oc_block / 2 >= round_up4(output.c)) c.oc_block /= 2;
  if (c.px == 8 && (c.oc_block != 8 || output.w <= 4)) c.px = 4;
  const uint64_t positions =
      uint64_t(std::max(1u, batch_hint)) * output.h * ops::ceil_div(output.w, c.px);
  const uint32_t max_wg = std::min(wg, std::max<uint32_t>(1, std::min(limits.max_workgroup_invocations,
                                                                      limits.max_workgroup_size[0])));
  c.workgroup = ops::pow2_at_least(positions, ops::pow2_at_most(max_wg));
  c.cin_chunk = std::max(1u, std::min(chunk, in_channels));
  // The _sg8 variants need every subgroup to be exactly 8 full lanes. CPU drivers
  // (lavapipe: one lane per SIMD element of a 256-bit vector) have a fixed subgroup
  // size; GPUs may vary it per pipeline, and gain little there anyway (their shared
  // memory broadcasts are free). tuning.subgroup_broadcast (REPVK_CONV_SG=0) turns it
  // off for comparisons.
  c.subgroup_broadcast = cpu && device.features.subgroup_ballot &&
                         device.features.subgroup_size == 8 && c.workgroup % 8 == 0 &&
                         tuning.subgroup_broadcast;
  // Shared memory bounds the tile: shrink the channel chunk first, then the block.
  while (tiled_shared_bytes(c, weights) > limits.max_shared_memory) {
    if (c.cin_chunk > 1)
      c.cin_chunk = (c.cin_chunk + 1) / 2;
    else if (c.oc_block > 4) {
      c.oc_block /= 2;
      c.px = 4;  // 8x8 is the only 8-pixel variant
    } else
      break;
  }
  return c;
}

TexelConvConfig choose_texel_config(const PhysicalDeviceInfo& device, const TensorShape& output,
                                    uint32_t batch_hint, const ConvTuningOverride& tuning) {
  TexelConvConfig c;
  const ConvTuning& t = conv_tuning(device.type);
  uint32_t px = t.texel_px;
  uint32_t oc = t.texel_oc;
  uint32_t wg = t.texel_workgroup;
  if (const ConvTileOverride& o = tuning.tile; o.px && o.oc && o.workgroup) {
    px = o.px;
    oc = o.oc;
    wg = o.workgroup;
  }
  // Only compiled blocks (shaders/CMakeLists.txt): 4x8, 4x16, 8x8, 8x16. 2x8 and 4x4
  // were tried and lost (more fetches per multiply-add).
  c.px = px >= 8 ? 8 : 4;
  c.oc_block = oc >= 16 && output.c > 8 ? 16 : 8;
  const uint64_t positions =
      uint64_t(std::max(1u, batch_hint)) * output.h * ops::ceil_div(output.w, c.px);
  const DeviceLimits& limits = device.limits;
  const uint32_t max_wg = std::min(wg, std::max<uint32_t>(1, std::min(limits.max_workgroup_invocations,
                                                                      limits.max_workgroup_size[0])));
  c.workgroup = ops::pow2_at_least(positions, ops::pow2_at_most(max_wg));
  return c;
}

}  // namespace repvk
