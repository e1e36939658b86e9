// SPDX-License-Identifier: MIT
// roofline_copy: the device's buffer-to-buffer bandwidth, for `repvk bench --roofline`.
//
// Buffers (set 0): 0  vec4 src[n] (storage buffer; with TEXEL_SRC a uniform texel
//                     buffer with an R32G32B32A32_SFLOAT view)
//                  1  vec4 dst[n]
// Specialization constants: 0  WG  local_size_x
// Defines: TEXEL_SRC  read through the texel view: the path conv3x3_texel reads by,
//          which CPU drivers run far faster than storage-buffer loads
// Push constants (2 x uint, 8 bytes): n (vec4 elements), stride (= invocations in the
//   dispatch)
// Dispatch: x = any number of workgroups; each invocation copies elements
//   gid, gid + stride, ... (a grid-stride loop), so every element is read once and
//   written once: 32 bytes of traffic per vec4.
// Divisibility: none.
#version 450

layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;
#ifdef TEXEL_SRC
layout(set = 0, binding = 0) uniform samplerBuffer src_texels;
#define SRC(i) texelFetch(src_texels, int(i))
#else
layout(std430, set = 0, binding = 0) readonly buffer Src { vec4 src[]; };
#define SRC(i) src[i]
#endif
layout(std430, set = 0, binding = 1) writeonly buffer Dst { vec4 dst[]; };
layout(push_constant) uniform Params { uint n, stride; } pc;

void main() {
  for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += pc.stride) dst[i] = SRC(i);
}
