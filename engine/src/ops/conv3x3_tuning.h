// conv3x3 tile sizes: the per-device-class table (conv_tuning) and its fit to one
// layer and the device's limits. Used by Conv3x3Op; kept apart so that the numbers
// live in one place.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <string>

#include "ops/op_common.h"
#include "repvk/device.h"
#include "repvk/model.h"
#include "repvk/network.h"

namespace repvk {

// Starting tile sizes per device class; NetworkOptions::conv_tile overrides them (see below).
struct ConvTuning {
  uint32_t tiled_px, tiled_oc, tiled_workgroup, tiled_cin_chunk;
  uint32_t texel_px, texel_oc, texel_workgroup;
};
const ConvTuning& conv_tuning(VkPhysicalDeviceType type);

// NetworkOptions' tuning experiments, as the conv op receives them.
struct ConvTuningOverride {
  ConvTileOverride tile;          // NetworkOptions::conv_tile
  bool subgroup_broadcast = true;  // NetworkOptions::conv_subgroup_broadcast
};

// Tile sizes of conv3x3_tiled for one layer; see choose_tiled_config().
struct TiledConvConfig {
  uint32_t workgroup = 64;  // invocations per workgroup
  uint32_t oc_block = 8;    // output channels per invocation (multiple of 4)
  uint32_t px = 4;          // output pixels of one row per invocation
  uint32_t cin_chunk = 8;   // input channels per decoded weight tile
  bool subgroup_broadcast = false;  // the _sg8 variant: weights shared by subgroupBroadcast
};

// Register block of conv3x3_texel for one layer; see choose_texel_config().
struct TexelConvConfig {
  uint32_t workgroup = 64;
  uint32_t oc_block = 16;  // output channels per invocation (multiple of 4)
  uint32_t px = 4;         // output pixels of one row per invocation
};

// Fits the table to one layer: keyed by device type and limits
// (shared memory, workgroup size) and the layer's shape. tuning.tile (px,oc,wg,chunk, all
// non-zero) overrides it for tuning experiments (values are clamped to what the device
// allows); tuning.subgroup_broadcast = false never picks the _sg8 variant.
// batch_hint: images per dispatch the caller expects (the batch is folded into the
// pixel dimension, so it decides how many invocations a small plane can fill).
TiledConvConfig choose_tiled_config(const PhysicalDeviceInfo& device, const TensorShape& output,
                                    uint32_t in_channels, uint32_t batch_hint,
                                    const ops::LayerWeights& weights,
                                    const ConvTuningOverride& tuning = {});
// The same for conv3x3_texel. tuning.tile (px,oc,wg non-zero) overrides it for tuning
// experiments.
TexelConvConfig choose_texel_config(const PhysicalDeviceInfo& device, const TensorShape& output,
                                    uint32_t batch_hint, const ConvTuningOverride& tuning = {});

// The embedded shader variant that runs a config (shaders/CMakeLists.txt compiles one
// per register block), e.g. "conv3x3_tiled_4x16_sg8_f32", "conv3x3_texel_4x8_f16".
std::string tiled_shader_name(const TiledConvConfig& c, bool fp16);
std::string texel_shader_name(const TexelConvConfig& c, bool fp16);

// Shared memory conv3x3_tiled uses: the decoded weight tile plus staged codebooks.
uint64_t tiled_shared_bytes(const TiledConvConfig& c, const ops::LayerWeights& w);

}  // namespace repvk
