// SPDX-License-Identifier: MIT
// roofline_fma: the device's peak multiply-add rate, for `repvk bench --roofline`.
//
// Buffers (set 0): 0  float sink[invocations]   one value per invocation, so the
//                                              arithmetic cannot be optimized away
// Specialization constants: 0  WG  local_size_x
// Defines: ROOFLINE_FP16  arithmetic in float16_t (needs shaderFloat16), else float
// Push constants (1 x uint, 4 bytes): iters
// Dispatch: x = any number of workgroups, y = z = 1. Each invocation performs
//   iters * 4 * 8 vec4 multiply-adds: iters * 256 floating-point operations.
// Divisibility: none.
//
// Eight independent vec4 chains hide the multiply-add latency on every target; the
// inner block is unrolled so that loop overhead (expensive on CPU drivers) is
// amortized over 32 vec4 operations.
#version 450
#extension GL_EXT_control_flow_attributes : require
#ifdef ROOFLINE_FP16
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define T float16_t
#define VT f16vec4
#else
#define T float
#define VT vec4
#endif

layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;
layout(std430, set = 0, binding = 0) writeonly buffer Sink { float sink[]; };
layout(push_constant) uniform Params { uint iters; } pc;

void main() {
  const uint gid = gl_GlobalInvocationID.x;
  const T seed = T(float(gid & 255u) * (1.0 / 256.0));
  VT a[8];
  [[unroll]] for (uint j = 0u; j < 8u; ++j) a[j] = VT(seed + T(j));
  // m < 1 and c small keep every chain bounded, so no denormals or infinities.
  const VT m = VT(T(0.999)), c = VT(T(0.001));
  for (uint i = 0u; i < pc.iters; ++i) {
    [[unroll]] for (uint r = 0u; r < 4u; ++r) {
      [[unroll]] for (uint j = 0u; j < 8u; ++j) a[j] = a[j] * m + c;
    }
  }
  VT s = VT(T(0.0));
  [[unroll]] for (uint j = 0u; j < 8u; ++j) s += a[j];
  sink[gid] = float(s.x + s.y + s.z + s.w);
}
