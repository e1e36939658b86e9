// SPDX-License-Identifier: MIT
// conv3x3_splitk_reduce: the second half of conv3x3_igemm's split-K path. Sums the S
// K-slice partials the igemm dispatch wrote (one per group of input channels), adds the
// bias, applies the optional ReLU, and stores the activations (NCHW).
//
// Buffers (set 0, std430). ACT_T = float (_f32) or float16_t (_f16, common/activation.glsl):
//   0  float partial[S][Cout][M]        readonly: M = N*OH*OW pixels (the batch folded
//                                       in, pixel-minor), written by conv3x3_igemm with
//                                       SPLIT_K; no bias, no ReLU
//   1  ACT_T act_out[N][Cout][OH][OW]   writeonly
//   2  float bias[Cout]                 readonly
// Specialization constants:
//   0  RELU   max(0, x) after the bias
// Push constants (4 x uint, 16 bytes): M, Cout, OHW = OH*OW, S (slices).
// Dispatch: x = min(ceil(M*Cout / 128), maxComputeWorkGroupCount[0]), y = z = 1;
//   invocations stride over the M*Cout outputs by the whole grid, so any x >= 1 covers them.
// Divisibility: none; M*Cout*S < 2^32 (the host checks).
//
// One invocation per output element e = oc*M + m: consecutive invocations read
// consecutive partials of every slice and, within an image, write consecutive outputs,
// so both sides are coalesced. The slices are summed in slice order, so the result does
// not depend on the grid.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common/activation.glsl"

const uint WG = 128u;
layout(local_size_x = WG, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 0) const bool RELU = false;

layout(std430, set = 0, binding = 0) restrict readonly buffer Partial { float partial[]; };
layout(std430, set = 0, binding = 1) restrict writeonly buffer ActOut { ACT_T act_out[]; };
layout(std430, set = 0, binding = 2) restrict readonly buffer Bias { float bias[]; };

layout(push_constant) uniform Params {
  uint m, cout, ohw, slices;
} pc;

void main() {
  const uint total = pc.m * pc.cout;
  const uint step = gl_NumWorkGroups.x * WG;
  for (uint e = gl_GlobalInvocationID.x; e < total; e += step) {
    const uint oc = e / pc.m;
    const uint m = e - oc * pc.m;
    float o = 0.0;
    for (uint z = 0u; z < pc.slices; ++z) o += partial[z * total + e];
    o += bias[oc];
    if (RELU) o = max(o, 0.0);
    const uint img = m / pc.ohw;
    act_out[(img * pc.cout + oc) * pc.ohw + (m - img * pc.ohw)] = ACT_STORE(o);
  }
}
