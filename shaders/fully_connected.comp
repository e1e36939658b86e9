// SPDX-License-Identifier: MIT
// fully_connected: [N][In] -> [N][Out], y = W x + b, optional ReLU.
//
// Buffers (set 0, std430):
//   0  float act_in[N][In]     fp32: FC layers only follow global_avg_pool, whose
//   1  float act_out[N][Out]   output and everything after it is fp32 storage, so
//                              there is only a fully_connected_f32 variant
//   2..4  weights, codebooks, bias   see common/weights.glsl; row = output feature
// Specialization constants:
//   0  WG_SIZE      local_size_x: output features per workgroup (any value >= 1);
//                   per-channel codebooks need WG_SIZE * 2^BITS floats of shared
//                   memory, so the host shrinks WG_SIZE to fit its device
//   1  BITS         0 = dense fp32, 1..8 = codebook index width
//   2  PER_CHANNEL  codebook per output feature (true) or per layer (false)
//   3  RELU         apply max(0, x) after the bias
// Push constants (5 x uint, 20 bytes): N, In, Out, words_per_row, codebook_size.
// Dispatch: x = ceil(Out / WG_SIZE), y = N, z = 1.
// Divisibility: none; invocations past Out compute a clamped duplicate row and skip
// the write, so all of them reach the codebook barrier.
//
// One invocation per output feature; the whole input vector is read by every
// invocation (it is small and stays in cache).
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 3) const bool RELU = false;

#define SPEC_ID_BITS 1
#define SPEC_ID_PER_CHANNEL 2
#define WEIGHT_ROWS gl_WorkGroupSize.x

layout(std430, set = 0, binding = 0) readonly buffer ActIn { float act_in[]; };
layout(std430, set = 0, binding = 1) writeonly buffer ActOut { float act_out[]; };
#include "common/weights.glsl"

layout(push_constant) uniform Params {
  uint n, in_features, out_features, words_per_row, codebook_size;
} pc;

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint row0 = gl_WorkGroupID.x * gl_WorkGroupSize.x;
  const uint img = gl_WorkGroupID.y;
  stage_codebooks(row0, pc.out_features, pc.codebook_size, lid, gl_WorkGroupSize.x);

  const uint out_idx = row0 + lid;
  const uint row = min(out_idx, pc.out_features - 1u);
  const uint per_word = indices_per_word();
  const uint in_base = img * pc.in_features;
  uint word_at = row * pc.words_per_row;
  float acc = 0.0;
  uint i = 0u;
  // Whole words first, then the partial last word of the row.
  for (; i + per_word <= pc.in_features; i += per_word, ++word_at) {
    const uint word = weight_words[word_at];
    for (uint j = 0u; j < per_word; ++j) {
      acc += act_in[in_base + i + j] * decode_weight(word, j, lid);
    }
  }
  if (i < pc.in_features) {
    const uint word = weight_words[word_at];
    for (uint j = 0u; i + j < pc.in_features; ++j) {
      acc += act_in[in_base + i + j] * decode_weight(word, j, lid);
    }
  }

  if (out_idx < pc.out_features) {
    float v = acc + bias[out_idx];
    if (RELU) v = max(v, 0.0);
    act_out[img * pc.out_features + out_idx] = v;
  }
}
