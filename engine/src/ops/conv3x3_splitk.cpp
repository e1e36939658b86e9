// SPDX-License-Identifier: MIT
// conv3x3_igemm's split-K chooser (see conv3x3_splitk.h for the rules and their reasons).
#include "ops/conv3x3_splitk.h"

#include <algorithm>

namespace repvk {

uint32_t split_k_channels(uint32_t cin, uint32_t slices, uint32_t granule) {
  granule = std::max<uint32_t>(granule, 1);
  const uint32_t per = (cin + slices - 1) / std::max<uint32_t>(slices, 1);
  return (per + granule - 1) / granule * granule;
}

uint32_t split_k_slices(uint32_t cin, uint32_t slices, uint32_t granule) {
  if (cin <= 1 || slices <= 1) return 1;
  slices = std::min(slices, cin);
  const uint32_t per = split_k_channels(cin, slices, granule);
  return (cin + per - 1) / per;
}

uint32_t choose_split_k(const SplitKProblem& p, uint32_t compute_units, bool cpu_device) {
  if (cpu_device || compute_units == 0 || p.workgroups == 0) return 1;
  if (p.workgroups >= uint64_t(kSplitKMinPerUnit) * compute_units) return 1;
  const uint64_t target = uint64_t(kSplitKTargetPerUnit) * compute_units;
  uint64_t slices = (target + p.workgroups - 1) / p.workgroups;
  slices = std::min<uint64_t>(slices, p.cin / std::max(kSplitKMinChannels, p.channel_granule));
  if (p.slice_bytes) slices = std::min<uint64_t>(slices, kSplitKMaxWorkspaceBytes / p.slice_bytes);
  if (slices < 2) return 1;
  return split_k_slices(p.cin, uint32_t(slices), p.channel_granule);
}

}  // namespace repvk
