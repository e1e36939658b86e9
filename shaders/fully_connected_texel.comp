// SPDX-License-Identifier: MIT
// fully_connected_texel: [N][In] -> [N][Out], y = W x + b, optional ReLU, for devices
// where texel fetches are the cheap way to read memory (CPU drivers).
//
// Buffers (set 0):
//   0  uniform samplerBuffer act_in     R32_SFLOAT view of float[N][In] (fp32: FC inputs
//                                      always are, see fully_connected.comp)
//   1  std430 float act_out[N][Out]
//   2  uniform samplerBuffer weights4   R32G32B32A32_SFLOAT view of the layer's weights,
//                                      expanded at load time (from codebooks or fp32):
//                                      texel (o/4) * In + i holds W[o][i] for outputs
//                                      4*(o/4) .. +3 (zero past Out)
//   3  std430 float bias[Out]
// Specialization constants:
//   0  WG    local_size_x (any value >= 1)
//   3  RELU  apply max(0, x) after the bias
// Defines (one compiled variant each, shaders/CMakeLists.txt):
//   IMGS     images per invocation: each weight texel is fetched once for all of them
// Push constants (3 x uint, 12 bytes): N, In, Out.
// Dispatch: x = ceil(ceil(Out / 4) / WG), y = ceil(N / IMGS), z = 1.
// Divisibility: none. Invocations past ceil(Out/4) and images past N read clamped
//   (valid) texels and skip their writes; outputs past Out read zero weights and are
//   not stored.
//
// Why it exists: lavapipe (Mesa 22.3) turns every storage-buffer or shared-memory
// load whose offset is not a constant into a per-lane loop (fully_connected.comp does
// one per input and per packed weight word), while a texel fetch is a plain gather and
// an RGBA32F fetch brings four outputs' weights at once. So this kernel reads
// everything through texel buffers and needs no shared memory and no barriers
// (docs/design/kernels.md).
#version 450
#extension GL_EXT_control_flow_attributes : require

layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 3) const bool RELU = false;

// Compile-time so that glslc unrolls the per-image accumulators.
#ifndef IMGS
#define IMGS 1u
#endif

layout(set = 0, binding = 0) uniform samplerBuffer act_in;
layout(std430, set = 0, binding = 1) writeonly buffer ActOut { float act_out[]; };
layout(set = 0, binding = 2) uniform samplerBuffer weights4;
layout(std430, set = 0, binding = 3) readonly buffer Bias { float bias[]; };

layout(push_constant) uniform Params {
  uint n, in_features, out_features;
} pc;

void main() {
  const uint groups = (pc.out_features + 3u) / 4u;
  const uint g = gl_GlobalInvocationID.x;
  const uint gc = min(g, groups - 1u);
  const uint img0 = gl_WorkGroupID.y * IMGS;

  int in_base[IMGS];
  vec4 acc[IMGS];
  [[unroll]] for (uint k = 0u; k < IMGS; ++k) {
    in_base[k] = int(min(img0 + k, pc.n - 1u) * pc.in_features);
    acc[k] = vec4(0.0);
  }

  int w = int(gc * pc.in_features);
  for (int i = 0; i < int(pc.in_features); ++i, ++w) {
    const vec4 wv = texelFetch(weights4, w);
    [[unroll]] for (uint k = 0u; k < IMGS; ++k) {
      acc[k] += texelFetch(act_in, in_base[k] + i).x * wv;
    }
  }

  if (g >= groups) return;
  [[unroll]] for (uint k = 0u; k < IMGS; ++k) {
    const uint img = img0 + k;
    [[unroll]] for (uint c = 0u; c < 4u; ++c) {
      const uint o = g * 4u + c;
      if (img < pc.n && o < pc.out_features) {
        float v = acc[k][c] + bias[o];
        if (RELU) v = max(v, 0.0);
        act_out[img * pc.out_features + o] = v;
      }
    }
  }
}
