// SPDX-License-Identifier: MIT
// conv3x3_texel: 3x3 convolution, pad 1, stride 1|2, fused bias and optional ReLU,
// for devices where texel fetches are the cheap way to read memory (CPU drivers).
//
// Buffers (set 0):
//   0  uniform samplerBuffer act_in     R32_SFLOAT (f32) or R16_SFLOAT (f16) view of
//                                      ACT_T[N][Cin][H][W]
//   1  std430 ACT_T act_out[N][Cout][OH][OW]   OH = (H-1)/STRIDE+1, OW = (W-1)/STRIDE+1
//   2  uniform samplerBuffer weights4   R32G32B32A32_SFLOAT view of the layer's weights,
//                                      expanded at load time (from codebooks or fp32):
//                                      texel ((oc/4) * Cin + ic) * 9 + ky*3 + kx holds
//                                      output channels 4*(oc/4) .. +3 (zero past Cout)
//   3  std430 float bias[Cout]
// Specialization constants:
//   0  WG      local_size_x (any value >= 1)
//   4  STRIDE  1 or 2
//   5  RELU    apply max(0, x) after the bias
// Defines (one compiled variant each, shaders/CMakeLists.txt):
//   PX        consecutive output pixels of one row per invocation
//   OC_BLOCK  output channels per invocation and per workgroup; a multiple of 4
//   ACT_FP16  half activation storage for act_out (act_in's format is the view's)
// Push constants (10 x uint, 40 bytes): N, Cin, H, W, Cout, OH, OW, group_base (first
//   workgroup of this dispatch along x), OWB = ceil(OW / PX), positions = N * OH * OWB.
// Dispatch: x = ceil(positions / WG) - group_base (capped per dispatch),
//           y = ceil(Cout / OC_BLOCK), z = 1. The batch is folded into x.
// Divisibility: none. Partial pixel blocks clamp their reads and guard their writes;
//   channels past Cout read zero weights and are not stored.
//
// Why it exists: lavapipe (Mesa 22.3) turns every storage-buffer or shared-memory
// load whose offset is not a constant into a branchy per-lane loop, about 200 FMAs'
// worth of time per SIMD load, while a texel fetch is a plain gather, about 25 FMAs'
// worth, and an RGBA32F fetch brings 4 weights for 1.5x that. So this kernel reads
// everything through texel buffers, needs no shared memory and no barriers, and keeps
// a PX x OC_BLOCK register block (tools: docs/design/kernels.md).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common/activation.glsl"

layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 4) const uint STRIDE = 1;
layout(constant_id = 5) const bool RELU = false;

// Compile-time so that glslc unrolls the register block (see conv3x3_tiled.comp).
#ifndef PX
#define PX 4u
#endif
#ifndef OC_BLOCK
#define OC_BLOCK 8u
#endif

layout(set = 0, binding = 0) uniform samplerBuffer act_in;
layout(std430, set = 0, binding = 1) writeonly buffer ActOut { ACT_T act_out[]; };
layout(set = 0, binding = 2) uniform samplerBuffer weights4;
layout(std430, set = 0, binding = 3) readonly buffer Bias { float bias[]; };

layout(push_constant) uniform Params {
  uint n, cin, h, w, cout, oh, ow, group_base, owb, positions;
} pc;

const uint OC_VECS = OC_BLOCK / 4u;
const uint MAX_SPAN = (PX - 1u) * 2u + 3u;

// Input value of tap kk (= ky*3 + kx) for pixel p. Both candidate indices are
// constants once unrolled, so x stays in registers (see conv3x3_tiled.comp).
#define tap_input(x, kk, p) \
  (STRIDE == 1u ? x[(kk) / 3u][(p) + (kk) % 3u] : x[(kk) / 3u][2u * (p) + (kk) % 3u])

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint wg = gl_WorkGroupSize.x;
  const uint oc0 = gl_WorkGroupID.y * OC_BLOCK;
  const uint q = (pc.group_base + gl_WorkGroupID.x) * wg + lid;
  const bool in_range = q < pc.positions;
  // Inactive invocations compute a duplicate of the last block and discard it.
  const uint qc = min(q, pc.positions - 1u);
  const uint per_image = pc.oh * pc.owb;
  const uint img = qc / per_image;
  const uint r = qc - img * per_image;
  const uint oy = r / pc.owb;
  const uint ox0 = (r - oy * pc.owb) * PX;
  const int iy0 = int(oy * STRIDE) - 1;
  const int ix0 = int(ox0 * STRIDE) - 1;
  const uint span = (PX - 1u) * STRIDE + 3u;

  // Row offsets and validity do not depend on the input channel: hoisted.
  int row_off[3];
  bool row_ok[3];
  [[unroll]] for (uint ky = 0u; ky < 3u; ++ky) {
    const int iy = iy0 + int(ky);
    row_ok[ky] = iy >= 0 && iy < int(pc.h);
    row_off[ky] = clamp(iy, 0, int(pc.h) - 1) * int(pc.w);
  }
  int col[MAX_SPAN];
  bool col_ok[MAX_SPAN];
  [[unroll]] for (uint j = 0u; j < MAX_SPAN; ++j) {
    const int ix = ix0 + int(j);
    col_ok[j] = j < span && ix >= 0 && ix < int(pc.w);
    col[j] = clamp(ix, 0, int(pc.w) - 1);
  }

  vec4 acc[PX * OC_VECS];
  [[unroll]] for (uint i = 0u; i < PX * OC_VECS; ++i) acc[i] = vec4(0.0);

  const int plane = int(pc.h * pc.w);
  int in_base = int(img * pc.cin) * plane;
  // Texel of (oc0/4 + t, ic, 0); the next input channel is 9 texels on.
  int w_base = int((oc0 / 4u) * pc.cin) * 9;
  const int w_oc_step = int(pc.cin) * 9;
  for (uint ic = 0u; ic < pc.cin; ++ic, in_base += plane, w_base += 9) {
    float x[3][MAX_SPAN];
    [[unroll]] for (uint ky = 0u; ky < 3u; ++ky) {
      [[unroll]] for (uint j = 0u; j < MAX_SPAN; ++j) {
        x[ky][j] = 0.0;
        if (j < span) {
          const float v = texelFetch(act_in, in_base + row_off[ky] + col[j]).x;
          x[ky][j] = (row_ok[ky] && col_ok[j]) ? v : 0.0;
        }
      }
    }
    [[unroll]] for (uint t = 0u; t < OC_VECS; ++t) {
      [[unroll]] for (uint kk = 0u; kk < 9u; ++kk) {
        const vec4 wv = texelFetch(weights4, w_base + int(t) * w_oc_step + int(kk));
        [[unroll]] for (uint p = 0u; p < PX; ++p) {
          acc[p * OC_VECS + t] += tap_input(x, kk, p) * wv;
        }
      }
    }
  }

  const uint pixels = pc.oh * pc.ow;
  [[unroll]] for (uint p = 0u; p < PX; ++p) {
    const uint ox = ox0 + p;
    const bool px_ok = in_range && ox < pc.ow;
    const uint out_px = img * pc.cout * pixels + oy * pc.ow + ox;
    [[unroll]] for (uint t = 0u; t < OC_VECS; ++t) {
      const vec4 a = acc[p * OC_VECS + t];
      [[unroll]] for (uint c = 0u; c < 4u; ++c) {
        const uint oc = oc0 + t * 4u + c;
        if (px_ok && oc < pc.cout) {
          float o = a[c] + bias[oc];
          if (RELU) o = max(o, 0.0);
          act_out[out_px + oc * pixels] = ACT_STORE(o);
        }
      }
    }
  }
}
