// SPDX-License-Identifier: MIT
// The conv3x3 kernels and their tuning knobs: engine-internal, not installed. The
// engine's ops choose kernels by these values; the tools and tests set them through
// NetworkTuning (repvk_internal/network_tuning.h). Applications never see them, so a
// new kernel or knob is not an ABI change (docs/embedding.md, "ABI policy").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace repvk {

// The conv3x3 kernel. Direct is the first correct version (shaders/conv3x3.comp), kept
// as the baseline that speedups are measured against; Tiled is the register-blocked
// kernel that decodes codebook tiles in shared memory (shaders/conv3x3_tiled.comp);
// Texel reads activations and load-time-expanded fp32 weights through texel buffers
// (shaders/conv3x3_texel.comp), which is what CPU drivers such as lavapipe run fast,
// at the cost of holding each conv layer's weights as fp32; Igemm is the implicit-GEMM
// kernel for GPUs (shaders/conv3x3_igemm.comp: shared-memory tiles of activations and
// decoded codebook weights, register-prefetched). Auto is Texel on CPU devices and
// Igemm elsewhere (docs/design/kernels.md, docs/design/shader-statistics.md); $REPVK_CONV
// sets it through options_from_environment() (repvk/environment.h). A layer that Texel
// cannot run within the device's texel-buffer limits falls back to Tiled. The FC layers
// follow the choice: under Texel they read through texel buffers too
// (shaders/fully_connected_texel.comp), where those limits allow it.
enum class ConvAlgorithm { Auto, Direct, Tiled, Texel, Igemm };

// The one table of kernel names (ops/conv_kernel.cpp): names, parsing and the CLI's
// choices all come from it.
struct ConvKernelName {
  ConvAlgorithm algorithm;
  const char* name;
};
// Every entry, Auto first: {Auto, "auto"}, {Direct, "direct"}, ...
const std::vector<ConvKernelName>& conv_kernel_names();
// The names alone, in table order; with_auto = false leaves "auto" out.
std::vector<std::string> conv_kernel_choices(bool with_auto = true);
const char* conv_algorithm_name(ConvAlgorithm a);
// A name from the table; throws repvk::Error listing the known ones.
ConvAlgorithm parse_conv_algorithm(const std::string& name);

// conv3x3 tile sizes for tuning experiments ($REPVK_CONV_TILE, repvk/environment.h).
// All zero: the per-device table in src/ops/conv3x3_tuning.cpp.
struct ConvTileOverride {
  uint32_t px = 0, oc = 0, workgroup = 0, cin_chunk = 0;
};

// Every kernel-level knob of a Network, for tools, tests and tuning experiments. The
// defaults are the engine's own choices.
struct NetworkTuning {
  ConvAlgorithm conv_algorithm = ConvAlgorithm::Auto;
  // $REPVK_CONV_TILE. The tiled kernel takes conv_tile when all four numbers are
  // non-zero, the texel kernel when px, oc and workgroup are; either is then clamped
  // to what the device allows.
  ConvTileOverride conv_tile;
  // false ($REPVK_CONV_SG=0): never the subgroup-broadcast (_sg8) variant of the tiled kernel.
  bool conv_subgroup_broadcast = true;
  // conv3x3_igemm's split-K (small layers on big GPUs): 0 = the chooser's count of K
  // slices per layer and batch; N = N slices on every igemm layer (clamped to Cin; 1 =
  // never split).
  uint32_t igemm_split_k = 0;
  // The split-K chooser plans as for a GPU with this many compute units; 0 = the
  // device's own count (estimate_compute_units()), and none on a CPU device.
  uint32_t compute_units = 0;
};

}  // namespace repvk
