// SPDX-License-Identifier: MIT
// The engine side of each layer kind: its CPU reference and its GPU op factory. Each
// kind defines its entry in engine/src/ops/<name>.cpp next to its op; the Network and
// cpu::forward only go through this table. The model side (fields, validation,
// shape) is engine/model/layer_kind.h.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>

#include "ops/conv3x3_tuning.h"
#include "ops/op.h"
#include "repvk/device.h"
#include "repvk/model.h"
#include "repvk/precision.h"
#include "repvk_internal/conv_kernel.h"

namespace repvk {

// What the Network decided for one layer.
struct OpPlan {
  Device& device;
  VkPipelineCache cache;
  const Layer& layer;
  TensorShape input;
  // Activation element types, from activation_element_bytes(): half or fp32.
  bool input_half = false;
  bool output_half = false;
  ConvAlgorithm conv_algorithm = ConvAlgorithm::Tiled;  // resolved: never Auto
  uint32_t max_batch = 1;  // images per record()
  ConvTuningOverride conv_tuning;  // NetworkOptions' tile experiments (conv only)
  bool math_fp16 = false;  // conv3x3_igemm computes in fp16 (NetworkOptions::fp16_math resolved)
};

struct OpKind {
  LayerType type;
  // The GPU op for one layer of a validated model.
  std::unique_ptr<Op> (*create)(const OpPlan& plan);
  // CPU reference: `batch` activations of `input` shape in, of `output` shape out
  // (`out` is sized by the caller). Sums in double, one fp32 rounding at the store.
  void (*cpu_forward)(const Layer& layer, const TensorShape& input, const TensorShape& output,
                      const float* in, uint32_t batch, float* out);
};

#define REPVK_DECLARE_OP_KIND(Name, code, lower) extern const OpKind k##Name##Op;
REPVK_LAYER_KINDS(REPVK_DECLARE_OP_KIND)
#undef REPVK_DECLARE_OP_KIND

// Throws repvk::Error for a type no kind has.
const OpKind& op_kind(LayerType type);

}  // namespace repvk
