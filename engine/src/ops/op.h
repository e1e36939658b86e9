// SPDX-License-Identifier: MIT
// The interface every layer op implements: what the Network plans, binds and records,
// whatever the kind or the kernel behind it.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/pipeline.h"

namespace repvk {

// What a kernel with a planned grid reports for diagnostics (shader-stats,
// Network::pipelines()): only conv3x3_igemm has one.
class DispatchDiagnostics {
 public:
  virtual ~DispatchDiagnostics() = default;
  // K slices of a split-K conv at `batch` (1 = unsplit).
  virtual uint32_t split_k(uint32_t batch) const = 0;
  // Workgroups of its main dispatch at `batch`.
  virtual uint64_t workgroups(uint32_t batch) const = 0;
};

class Op {
 public:
  virtual ~Op() = default;

  // Allocates the op's descriptor set from `arena` (once per input/output pair).
  virtual void bind(DescriptorArena& arena, VkBuffer input, VkBuffer output) = 0;
  // Dispatches `batch` images; the caller puts barriers between layers.
  virtual void record(VkCommandBuffer cmd, uint32_t batch) const = 0;

  virtual uint64_t flops(uint32_t batch) const = 0;
  // Device bytes the op uploaded for its layer when it was made: weights in the kernel's
  // own layout (packed, repacked, padded or expanded), codebooks and bias. 0 without.
  virtual uint64_t weight_bytes() const { return 0; }
  // Shape, weights, precision and kernel, e.g. "conv3x3 16->32 s2 28x28 q4/channel relu f32 tiled".
  virtual std::string name() const = 0;
  // The pipeline record() dispatches: its shader variant, layout and binding types
  // (one bind() allocates one set of those bindings).
  virtual const ComputePipeline& pipeline() const = 0;

  // Scratch memory record() needs for up to the planned batch, in bytes (0: none), in a
  // buffer the caller owns; ops run one after another, so one buffer of the largest
  // size serves them all. set_workspace() gives it to the op before bind().
  virtual uint64_t workspace_bytes() const { return 0; }
  virtual void set_workspace(VkBuffer) {}
  // Pipelines record() dispatches besides pipeline(); bind() allocates one set for each
  // of them too (callers size their DescriptorArena with these).
  virtual std::vector<const ComputePipeline*> extra_pipelines() const { return {}; }
  // The op's dispatch diagnostics, when it reports any (conv3x3_igemm); null otherwise.
  virtual const DispatchDiagnostics* diagnostics() const { return nullptr; }
};

}  // namespace repvk
