// SPDX-License-Identifier: MIT
// conv3x3_igemm's split-K plan: how many K slices (groups of input channels) a small
// layer is cut into so that a big GPU gets enough workgroups, each slice summed by its
// own workgroups into fp32 partials that shaders/conv3x3_splitk_reduce.comp adds up.
// Pure functions of the problem and the compute-unit count (unit-tested without a device).
#pragma once

#include <cstdint>

namespace repvk {

// Below this many workgroups per compute unit the unsplit grid leaves SMs/CUs idle or
// without a second workgroup to hide the K loop's barriers behind; a split aims at
// kSplitKTargetPerUnit.
constexpr uint32_t kSplitKMinPerUnit = 2;
constexpr uint32_t kSplitKTargetPerUnit = 4;
// Every slice keeps at least this many input channels (K stages): each workgroup pays
// a fixed prologue (codebook staging, tap offsets, the first prefetch) and epilogue (a
// 128x64 fp32 partial tile, 32 KiB, written and read back by the reduction), which 8
// stages of 9*128*64 FMAs each keep under ~10% of its time; fewer stages also leave the
// register prefetch nothing to overlap.
constexpr uint32_t kSplitKMinChannels = 8;
// The partials (S x M x Cout fp32) stay under this; A0's largest split on 132 CUs
// (the 192->1280 layer, 14 slices of a 5-image chunk) needs 16.7 MiB.
constexpr uint64_t kSplitKMaxWorkspaceBytes = 64ull << 20;

struct SplitKProblem {
  uint64_t workgroups = 0;   // the unsplit grid: ceil(M / BM) * ceil(Cout / BN)
  uint32_t cin = 0;          // input channels (K = 9 * Cin)
  uint64_t slice_bytes = 0;  // one slice's partials: M * Cout * 4
  // A slice's channel count is a multiple of this: conv3x3_igemm's index chunks hold R
  // input channels (igemm_index_chunks(bits).channels), and a slice must open a chunk.
  uint32_t channel_granule = 1;
};

// Slices actually dispatched for a request of `slices`: clamped to [1, Cin], then
// reduced so that none is empty (Cin = 10 and 4 asked: 3 channels per slice, 4 slices;
// Cin = 5 and 4 asked: 2 per slice, 3 slices; with a granule of 3, Cin = 10 and 3
// asked: 6 per slice, 2 slices).
uint32_t split_k_slices(uint32_t cin, uint32_t slices, uint32_t granule = 1);
// Input channels per slice for `slices` (already normalized): ceil(Cin / slices), rounded
// up to a multiple of `granule`.
uint32_t split_k_channels(uint32_t cin, uint32_t slices, uint32_t granule = 1);

// The chooser. compute_units = 0 or cpu_device: 1 (no split). 1 when the grid already
// has kSplitKMinPerUnit workgroups per compute unit; otherwise the smallest count that
// reaches kSplitKTargetPerUnit, capped by max(kSplitKMinChannels, channel_granule) per slice and by
// kSplitKMaxWorkspaceBytes, normalized by split_k_slices().
uint32_t choose_split_k(const SplitKProblem& problem, uint32_t compute_units, bool cpu_device);

}  // namespace repvk
