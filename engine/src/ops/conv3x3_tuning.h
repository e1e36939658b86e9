// SPDX-License-Identifier: MIT
// conv3x3 tile sizes: the per-device-class table (conv_tuning) and its fit to one
// layer and the device's limits. Used by the tiled and texel kernels
// (conv3x3_tiled.cpp, conv3x3_texel.cpp); kept apart so that the numbers live in one
// place. The register block is always one of the compiled variants (the generated
// tables of runtime/shader_variant.h).
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <string>

#include "ops/op_common.h"
#include "runtime/shader_variant.h"
#include "repvk/device.h"
#include "repvk/model.h"
#include "repvk/precision.h"
#include "repvk_internal/conv_kernel.h"

namespace repvk {

// Starting tile sizes per device class; NetworkTuning::conv_tile overrides them (see below).
struct ConvTuning {
  uint32_t tiled_px, tiled_oc, tiled_workgroup, tiled_cin_chunk;
  uint32_t texel_px, texel_oc, texel_workgroup;
};
const ConvTuning& conv_tuning(VkPhysicalDeviceType type);

// NetworkTuning's knobs, as the conv op receives them.
struct ConvTuningOverride {
  ConvTileOverride tile;          // NetworkTuning::conv_tile
  bool subgroup_broadcast = true;  // NetworkTuning::conv_subgroup_broadcast
  uint32_t igemm_split_k = 0;      // NetworkTuning::igemm_split_k
  uint32_t compute_units = 0;      // NetworkTuning::compute_units
};

// Tile sizes of conv3x3_tiled for one layer; see choose_tiled_config().
struct TiledConvConfig {
  // The compiled variant that runs it: register block (px x oc), subgroup flavour,
  // precision. Never null once chosen.
  const ShaderVariant* variant = nullptr;
  uint32_t workgroup = 64;  // invocations per workgroup
  uint32_t cin_chunk = 8;   // input channels per decoded weight tile

  uint32_t px() const { return variant->px; }        // output pixels of one row per invocation
  uint32_t oc_block() const { return variant->oc; }  // output channels per invocation
  // The _sg8 variant: weights shared by subgroupBroadcast.
  bool subgroup_broadcast() const { return variant->subgroup != 0; }
};

// Register block of conv3x3_texel for one layer; see choose_texel_config().
struct TexelConvConfig {
  const ShaderVariant* variant = nullptr;  // the compiled block and precision
  uint32_t workgroup = 64;                 // invocations per workgroup

  uint32_t px() const { return variant->px; }
  uint32_t oc_block() const { return variant->oc; }
};

// Fits the table to one layer: keyed by device type and limits
// (shared memory, workgroup size) and the layer's shape, picking the register block
// among the compiled variants of `fp16` precision. tuning.tile (px,oc,wg,chunk, all
// non-zero) overrides it for tuning experiments (values are clamped to what the device
// allows and the build compiled); tuning.subgroup_broadcast = false never picks the
// _sg8 variant.
// batch_hint: images per dispatch the caller expects (the batch is folded into the
// pixel dimension, so it decides how many invocations a small plane can fill).
TiledConvConfig choose_tiled_config(const PhysicalDeviceInfo& device, const TensorShape& output,
                                    uint32_t in_channels, uint32_t batch_hint,
                                    const ops::LayerWeights& weights, bool fp16,
                                    const ConvTuningOverride& tuning = {});
// The same for conv3x3_texel. tuning.tile (px,oc,wg non-zero) overrides it for tuning
// experiments.
TexelConvConfig choose_texel_config(const PhysicalDeviceInfo& device, const TensorShape& output,
                                    uint32_t batch_hint, bool fp16,
                                    const ConvTuningOverride& tuning = {});

// Shared memory conv3x3_tiled uses: the decoded weight tile of `cin_chunk` input
// channels x `oc_block` outputs plus staged codebooks.
uint64_t tiled_shared_bytes(uint32_t cin_chunk, uint32_t oc_block, const ops::LayerWeights& w);

}  // namespace repvk
