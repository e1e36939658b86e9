// SPDX-License-Identifier: MIT
// The conv3x3 op: what every conv3x3 kernel shares (validation, output shape,
// stride, ReLU, activation precision, name, flops, the batch-folding dispatch
// helper), and the one factory that picks the kernel. Each kernel is its own class
// in its own files: conv3x3_direct (shaders/conv3x3.comp, the baseline),
// conv3x3_tiled (shaders/conv3x3_tiled.comp), conv3x3_texel
// (shaders/conv3x3_texel.comp) and conv3x3_igemm (shaders/conv3x3_igemm.comp). Adding one: engine/src/ops/README.md.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ops/conv3x3_tuning.h"
#include "ops/op.h"
#include "runtime/pipeline.h"
#include "repvk/device.h"
#include "repvk/model.h"
#include "repvk/precision.h"
#include "repvk_internal/conv_kernel.h"

namespace repvk {

// What every kernel is created from.
struct Conv3x3Args {
  Device& device;
  VkPipelineCache cache;
  const Layer& layer;
  TensorShape input;
  bool fp16 = false;        // input and output activations stored as half
  uint32_t max_batch = 1;   // images per record(); kernels that fold the batch into x size for it
  ConvTuningOverride tuning = {};  // NetworkOptions' tile experiments
  // conv3x3_igemm only: fp16 arithmetic (NetworkOptions::fp16_math, resolved by the
  // Network; under Auto from measure_fp16_math()).
  bool math_fp16 = false;
};

class Conv3x3Op : public Op {
 public:
  ~Conv3x3Op() override = default;
  Conv3x3Op(const Conv3x3Op&) = delete;
  Conv3x3Op& operator=(const Conv3x3Op&) = delete;

  // Dispatches only; the caller inserts barriers between layers (a split-K igemm records
  // its own between its two dispatches). Throws before bind() or for a batch the kernel
  // cannot run, records nothing for batch 0.
  void record(VkCommandBuffer cmd, uint32_t batch) const final;
  uint64_t flops(uint32_t batch) const final;
  // "conv3x3 <cin>-><cout> s<stride> <h>x<w> <weights> [relu] <f32|f16> <kernel>".
  std::string name() const final;
  const ComputePipeline& pipeline() const final { return *pipeline_; }

  const TensorShape& input_shape() const { return in_; }
  const TensorShape& output_shape() const { return out_; }
  virtual ConvAlgorithm algorithm() const = 0;
  // Invocations per workgroup (local_size_x).
  virtual uint32_t workgroup_size() const = 0;
  // Output channels each invocation computes (also per workgroup along y).
  virtual uint32_t channel_block() const = 0;
  // Output pixels of one row each invocation computes.
  virtual uint32_t pixel_block() const = 0;
  // The kernel's own tile choices, for diagnostics, e.g. "cin chunk 16, sg8"; may be "".
  virtual std::string tile_details() const { return {}; }

 protected:
  // Validates the layer against the input (the checks every kernel needs).
  explicit Conv3x3Op(const Conv3x3Args& args);
  virtual void record_dispatches(VkCommandBuffer cmd, uint32_t batch) const = 0;
  // For kernels that fold the batch into x, `px` output pixels of a row per
  // invocation: calls dispatch(first_group, groups_x, positions) once per slice of at
  // most maxComputeWorkGroupCount[0] workgroups of `workgroup` invocations.
  void record_position_groups(uint32_t px, uint32_t workgroup, uint32_t batch,
                              const std::function<void(uint32_t, uint32_t, uint32_t)>& dispatch) const;

  Device& device_;
  TensorShape in_, out_;
  uint32_t stride_ = 1;
  bool relu_ = false;
  bool fp16_ = false;
  std::string weights_tag_;  // "fp32", "q4/layer", ...
  std::unique_ptr<ComputePipeline> pipeline_;
  VkDescriptorSet set_ = VK_NULL_HANDLE;  // allocated by bind()
};

// Auto's kernel on this device (before per-layer fits): texel on CPU devices, igemm
// elsewhere. Measured on lavapipe: texel beats tiled on every layer, and tiled beats
// direct (docs/design/kernels.md). On GPUs the implicit GEMM (codebook
// weights, shared-memory tiles) is the default: its inner loop is 90%+ FMAs in RADV's
// ISA against 68-73% for tiled ("Shader statistics"); tiled and direct stay selectable.
ConvAlgorithm default_conv_algorithm(const PhysicalDeviceInfo& device);

// The conv3x3 op for one layer, the only way ops are made. Auto is
// default_conv_algorithm(); texel (asked for or by Auto) falls back to tiled where
// the layer exceeds the device's texel-buffer limits.
std::unique_ptr<Conv3x3Op> make_conv3x3_op(const Conv3x3Args& args,
                                           ConvAlgorithm algorithm = ConvAlgorithm::Auto);

}  // namespace repvk
