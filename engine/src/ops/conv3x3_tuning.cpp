// SPDX-License-Identifier: MIT
// The one table of conv3x3 tile sizes per device class, and the functions that fit
// it to a layer and to the device's limits. Every number in the table was measured
// (docs/design/kernels.md) unless its comment says otherwise.
#include "ops/conv3x3_tuning.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "shaders/variants.h"

namespace repvk {
namespace {

// CPU devices (lavapipe) run each invocation as one SIMD lane, every storage or
// shared load as a per-lane loop, and texel fetches as gathers: they want the most
// multiply-adds per load. Tiled 4x16 with 16-channel chunks measured best there;
// texel 4x8 tied 4x16 and beat 8x8, 8x16, 2x8 and 4x4; workgroup sizes 16-64 tied.
constexpr ConvTuning kCpu{4, 16, 64, 16, 4, 8, 64};
// GPUs want more invocations in flight and fewer registers each. Not measured yet
// (no GPU was available): a conventional starting point.
constexpr ConvTuning kGpu{4, 8, 64, 16, 4, 8, 64};

using variants::kConv3x3Texel;
using variants::kConv3x3Tiled;

// The choosers below pick every block from the compiled tables, at the precision
// asked for, so both must exist for every block; and the table's starting blocks
// must be compiled ones, or the choice would silently differ from the table.
static_assert(kConv3x3Tiled.both_precisions() && kConv3x3Texel.both_precisions(),
              "shaders/CMakeLists.txt: compile every conv block in f32 and f16");
static_assert(kConv3x3Tiled.has_block(kCpu.tiled_px, kCpu.tiled_oc, false) &&
                  kConv3x3Tiled.has_block(kGpu.tiled_px, kGpu.tiled_oc, false),
              "conv_tuning(): a tiled block that shaders/CMakeLists.txt does not compile");
static_assert(kConv3x3Texel.has_block(kCpu.texel_px, kCpu.texel_oc, false) &&
                  kConv3x3Texel.has_block(kGpu.texel_px, kGpu.texel_oc, false),
              "conv_tuning(): a texel block that shaders/CMakeLists.txt does not compile");

uint32_t round_up4(uint32_t v) { return (v + 3) / 4 * 4; }

// Block lookups over one table at one precision (subgroup flavours aside).
struct Blocks {
  const VariantTable& table;
  bool fp16;

  // The widest compiled px <= want, else the narrowest compiled px.
  uint32_t fit_px(uint32_t want) const {
    uint32_t best = 0, least = UINT32_MAX;
    for (const ShaderVariant& v : table)
      if (is_block(v)) {
        if (v.px <= want) best = std::max(best, v.px);
        least = std::min(least, v.px);
      }
    return best ? best : least;
  }
  // The widest compiled oc <= want at this px, else the narrowest one at this px.
  uint32_t fit_oc(uint32_t px, uint32_t want) const {
    uint32_t best = 0, least = UINT32_MAX;
    for (const ShaderVariant& v : table)
      if (is_block(v) && v.px == px) {
        if (v.oc <= want) best = std::max(best, v.oc);
        least = std::min(least, v.oc);
      }
    return best ? best : least;
  }
  // The next narrower oc than `oc` among blocks of at most max_px pixels; 0 if none.
  uint32_t narrower_oc(uint32_t oc, uint32_t max_px) const {
    uint32_t best = 0;
    for (const ShaderVariant& v : table)
      if (is_block(v) && v.px <= max_px && v.oc < oc) best = std::max(best, v.oc);
    return best;
  }
  // The widest px <= max_px compiled with this oc; 0 if none.
  uint32_t widest_px(uint32_t oc, uint32_t max_px) const {
    uint32_t best = 0;
    for (const ShaderVariant& v : table)
      if (is_block(v) && v.oc == oc && v.px <= max_px) best = std::max(best, v.px);
    return best;
  }

 private:
  bool is_block(const ShaderVariant& v) const { return v.fp16 == fp16 && v.subgroup == 0; }
};

uint32_t workgroup_for(const DeviceLimits& limits, uint32_t wg, uint64_t positions) {
  const uint32_t max_wg = std::min(wg, std::max<uint32_t>(1, std::min(limits.max_workgroup_invocations,
                                                                      limits.max_workgroup_size[0])));
  return ops::pow2_at_least(positions, ops::pow2_at_most(max_wg));
}

}  // namespace

const ConvTuning& conv_tuning(VkPhysicalDeviceType type) {
  return type == VK_PHYSICAL_DEVICE_TYPE_CPU ? kCpu : kGpu;
}

uint64_t tiled_shared_bytes(uint32_t cin_chunk, uint32_t oc_block, const ops::LayerWeights& w) {
  return uint64_t(cin_chunk) * 9 * oc_block * sizeof(float) + w.shared_bytes(oc_block);
}

TiledConvConfig choose_tiled_config(const PhysicalDeviceInfo& device, const TensorShape& output,
                                    uint32_t in_channels, uint32_t batch_hint,
                                    const ops::LayerWeights& weights, bool fp16,
                                    const ConvTuningOverride& tuning) {
  const DeviceLimits& limits = device.limits;
  const bool cpu = device.type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  const ConvTuning& t = conv_tuning(device.type);
  uint32_t want_px = t.tiled_px;
  uint32_t want_oc = t.tiled_oc;
  uint32_t wg = t.tiled_workgroup;
  uint32_t chunk = t.tiled_cin_chunk;
  if (const ConvTileOverride& o = tuning.tile; o.px && o.oc && o.workgroup && o.cin_chunk) {
    want_px = o.px;
    want_oc = o.oc;
    wg = o.workgroup;
    chunk = o.cin_chunk;
  }
  // The compiled block nearest the request (shaders/CMakeLists.txt: 4x4, 4x8, 4x16, 8x8).
  const Blocks blocks{kConv3x3Tiled, fp16};
  uint32_t px = blocks.fit_px(want_px);
  uint32_t oc = blocks.fit_oc(px, want_oc);
  // Channels past Cout are computed and discarded: narrow layers get narrow blocks.
  for (uint32_t n; (n = blocks.narrower_oc(oc, px)) != 0 && n >= round_up4(output.c);) oc = n;
  // The widest block with those channels; one narrower when the plane's rows are no
  // wider than it (the wider block would only compute clamped duplicates).
  px = blocks.widest_px(oc, px);
  if (const uint32_t narrower = blocks.widest_px(oc, px - 1); narrower && output.w <= narrower)
    px = narrower;
  const uint64_t positions =
      uint64_t(std::max(1u, batch_hint)) * output.h * ops::ceil_div(output.w, px);
  TiledConvConfig c;
  c.workgroup = workgroup_for(limits, wg, positions);
  c.cin_chunk = std::max(1u, std::min(chunk, in_channels));
  // Shared memory bounds the tile: shrink the channel chunk first, then the block.
  while (tiled_shared_bytes(c.cin_chunk, oc, weights) > limits.max_shared_memory) {
    if (c.cin_chunk > 1) {
      c.cin_chunk = (c.cin_chunk + 1) / 2;
    } else if (const uint32_t n = blocks.narrower_oc(oc, px); n != 0) {
      oc = n;
      px = blocks.widest_px(oc, px);
    } else {
      break;
    }
  }
  // The _sg8 variants need every subgroup to be exactly 8 full lanes. CPU drivers
  // (lavapipe: one lane per SIMD element of a 256-bit vector) have a fixed subgroup
  // size; GPUs may vary it per pipeline, and gain little there anyway (their shared
  // memory broadcasts are free). tuning.subgroup_broadcast (REPVK_CONV_SG=0) turns it
  // off for comparisons.
  const uint32_t sg = device.features.subgroup_size;
  const ShaderVariant* broadcast =
      sg != 0 ? kConv3x3Tiled.find(px, oc, sg, 0, fp16) : nullptr;
  const bool use_broadcast = broadcast && cpu && device.features.subgroup_ballot &&
                             c.workgroup % sg == 0 && tuning.subgroup_broadcast;
  c.variant = use_broadcast ? broadcast : kConv3x3Tiled.block(px, oc, fp16);
  return c;
}

TexelConvConfig choose_texel_config(const PhysicalDeviceInfo& device, const TensorShape& output,
                                    uint32_t batch_hint, bool fp16,
                                    const ConvTuningOverride& tuning) {
  const ConvTuning& t = conv_tuning(device.type);
  uint32_t want_px = t.texel_px;
  uint32_t want_oc = t.texel_oc;
  uint32_t wg = t.texel_workgroup;
  if (const ConvTileOverride& o = tuning.tile; o.px && o.oc && o.workgroup) {
    want_px = o.px;
    want_oc = o.oc;
    wg = o.workgroup;
  }
  // The compiled block nearest the request (shaders/CMakeLists.txt: 4x8, 4x16, 8x8,
  // 8x16). 2x8 and 4x4 were tried and lost (more fetches per multiply-add).
  const Blocks blocks{kConv3x3Texel, fp16};
  uint32_t px = blocks.fit_px(want_px);
  uint32_t oc = blocks.fit_oc(px, want_oc);
  for (uint32_t n; (n = blocks.narrower_oc(oc, px)) != 0 && n >= round_up4(output.c);) oc = n;
  px = blocks.widest_px(oc, px);
  const uint64_t positions =
      uint64_t(std::max(1u, batch_hint)) * output.h * ops::ceil_div(output.w, px);
  TexelConvConfig c;
  c.workgroup = workgroup_for(device.limits, wg, positions);
  c.variant = kConv3x3Texel.block(px, oc, fp16);
  return c;
}

}  // namespace repvk
