// SPDX-License-Identifier: MIT
// softmax: [N][K] logits -> [N][K] probabilities, numerically stable
// (p_i = exp(x_i - max) / sum_j exp(x_j - max)).
//
// Buffers (set 0, std430), both always fp32: logits come from an fp32 FC output and
// probabilities are read by the host, so there is only a softmax_f32 variant.
//   0  float logits[N][K]
//   1  float probs[N][K]
// Specialization constants:
//   0  WG_SIZE  local_size_x; MUST be a power of two (tree reduction), <= 1024
// Push constants (2 x uint, 8 bytes): N, K.
// Dispatch: x = N (one workgroup per image; the host checks N against
//           maxComputeWorkGroupCount[0]), y = z = 1.
// Divisibility: none; K is covered by strided loops (K up to 100000 and beyond).
#version 450

layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer Logits { float logits[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Probs { float probs[]; };

layout(push_constant) uniform Params {
  uint n, k;
} pc;

shared float s_red[gl_WorkGroupSize.x];

// Tree reduction over s_red; every invocation must call it (contains barriers).
// `op_max` selects max, otherwise sum. The result is read from s_red[0] by all.
float reduce(float v, bool op_max) {
  const uint lid = gl_LocalInvocationID.x;
  s_red[lid] = v;
  barrier();
  for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      s_red[lid] = op_max ? max(s_red[lid], s_red[lid + s]) : s_red[lid] + s_red[lid + s];
    }
    barrier();
  }
  const float r = s_red[0];
  // The next reduce() overwrites s_red: everyone must have read the result first.
  barrier();
  return r;
}

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint base = gl_WorkGroupID.x * pc.k;
  const uint stride = gl_WorkGroupSize.x;

  float m = uintBitsToFloat(0xFF800000u);  // -inf: identity of max
  for (uint i = lid; i < pc.k; i += stride) m = max(m, logits[base + i]);
  const float mx = reduce(m, true);

  float s = 0.0;
  for (uint i = lid; i < pc.k; i += stride) s += exp(logits[base + i] - mx);
  const float inv = 1.0 / reduce(s, false);

  for (uint i = lid; i < pc.k; i += stride) probs[base + i] = exp(logits[base + i] - mx) * inv;
}
