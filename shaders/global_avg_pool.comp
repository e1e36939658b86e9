// SPDX-License-Identifier: MIT
// global_avg_pool: [N][C][H][W] -> [N][C], the mean of each H*W plane.
//
// Buffers (set 0, std430):
//   0  ACT_T act_in[N][C][H][W]   float (global_avg_pool_f32) or float16_t (_f16)
//   1  float act_out[N][C]        always fp32: everything from the pooled features
//                                 onward (FC, logits, softmax) is stored as fp32
// Specialization constants:
//   0  WG_SIZE  local_size_x (any value >= 1)
// Push constants (2 x uint, 8 bytes): planes (= N*C), plane_size (= H*W).
// Dispatch: x = ceil(planes / WG_SIZE), y = z = 1.
// Divisibility: none; invocations past the last plane do nothing (no barriers here).
//
// One invocation per plane: after the stride-2 stages of a RepVGG the planes are
// small (7x7 at 224 input), so a per-plane loop beats a workgroup reduction.
// The sum is fp32 over four interleaved partial sums, which both shortens the
// dependency chain and roughly halves the rounding error of a single running sum.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common/activation.glsl"

layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer ActIn { ACT_T act_in[]; };
layout(std430, set = 0, binding = 1) writeonly buffer ActOut { float act_out[]; };

layout(push_constant) uniform Params {
  uint planes, plane_size;
} pc;

void main() {
  const uint plane = gl_GlobalInvocationID.x;
  if (plane >= pc.planes) return;
  const uint base = plane * pc.plane_size;
  vec4 s = vec4(0.0);
  uint i = 0u;
  for (; i + 4u <= pc.plane_size; i += 4u) {
    s += vec4(ACT_LOAD(act_in[base + i]), ACT_LOAD(act_in[base + i + 1u]),
              ACT_LOAD(act_in[base + i + 2u]), ACT_LOAD(act_in[base + i + 3u]));
  }
  for (; i < pc.plane_size; ++i) s.x += ACT_LOAD(act_in[base + i]);
  act_out[plane] = ((s.x + s.y) + (s.z + s.w)) / float(pc.plane_size);
}
