// SPDX-License-Identifier: MIT
// conv3x3_tiled: 3x3 convolution, pad 1, stride 1|2, fused bias and optional ReLU,
// register-blocked over pixels and channels with a decoded weight tile in shared memory.
//
// Buffers (set 0, std430): identical to conv3x3.comp, so the host binds either kernel
// the same way. ACT_T = float (conv3x3_tiled_f32) or float16_t (conv3x3_tiled_f16):
//   0  ACT_T act_in[N][Cin][H][W]
//   1  ACT_T act_out[N][Cout][OH][OW]        OH = (H-1)/STRIDE+1, OW = (W-1)/STRIDE+1
//   2..4  weights, codebooks, bias           see common/weights.glsl; weight row k of
//                                            output channel oc is ic*9 + ky*3 + kx
// Specialization constants (ids match conv3x3.comp where they mean the same thing):
//   0  WG          local_size_x: invocations per workgroup (any value >= 1; a multiple
//                  of 8 with SG_BCAST)
//   (no id 1)      conv3x3.comp's id 1, OC_TILE, is the OC_BLOCK define here (see
//                  below); the shader declares no id 1 and the host passes none
//   2  BITS        0 = dense fp32 weights, 1..8 = codebook index width
//   3  PER_CHANNEL codebook per output channel (true) or per layer (false)
//   4  STRIDE      1 or 2
//   5  RELU        apply max(0, x) after the bias
//   6  CIN_CHUNK   input channels whose weights are decoded per tile (>= 1)
// Defines (one compiled variant each, shaders/CMakeLists.txt):
//   PX        consecutive output pixels of one row per invocation
//   OC_BLOCK  output channels per workgroup and per invocation; a multiple of 4
//   SG_BCAST  if defined (8): weights are shared across the subgroup by broadcast;
//             needs full subgroups (the host only picks it on CPU devices reporting
//             subgroup size 8, with WG % 8 == 0); if the real gl_SubgroupSize differs,
//             a uniform branch falls back to plain shared-memory loads
//   ACT_FP16  half activation storage (common/activation.glsl)
// Shared memory: CIN_CHUNK*9*OC_BLOCK floats of decoded weights plus the codebooks
//   of common/weights.glsl ((PER_CHANNEL ? OC_BLOCK : 1) * 2^BITS floats).
// Push constants (12 x uint, 48 bytes): N, Cin, H, W, Cout, OH, OW, words_per_row,
//   codebook_size, group_base (first workgroup of this dispatch along x), OWB =
//   ceil(OW / PX) pixel blocks per row, positions = N * OH * OWB.
// Dispatch: x = ceil(positions / WG) - group_base (capped per dispatch),
//           y = ceil(Cout / OC_BLOCK), z = 1. The batch is folded into x so small
//           late-stage planes (7x7, 4x4) still fill whole workgroups at batch 16.
// Divisibility: OC_BLOCK % 4 == 0 (fixed per variant); nothing else.
// Cin, Cout, H, W and N are arbitrary (>= 1): partial tiles clamp their reads and
// guard their writes; no invocation returns early, so all of them reach every barrier.
//
// Why this shape: on every target the inner loop must be MACs, not address math or
// codebook gathers. Each weight is decoded once per workgroup into a shared tile laid
// out [ic][ky][kx][oc], so the inner loop reads OC_BLOCK consecutive floats (vec4s, the
// same address in every invocation: a broadcast on GPUs) and reuses each of them PX
// times; each input value is loaded once per (ic, ky) row and reused by up to 3 taps
// and OC_BLOCK channels. On lavapipe every non-constant-offset load is a per-lane
// scalar loop, so loads per MAC is what sets the speed there.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common/activation.glsl"
#ifdef SG_BCAST
#extension GL_KHR_shader_subgroup_ballot : require
#endif

layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 4) const uint STRIDE = 1;
layout(constant_id = 5) const bool RELU = false;
layout(constant_id = 6) const uint CIN_CHUNK = 8;

// Compile-time, not specialization constants: the register block must be unrolled
// by glslc so the accumulators are registers. Some drivers (lavapipe) do not unroll
// loops whose trip count is only known after specialization, and then index the
// block as a scratch array, several times slower.
#ifndef PX
#define PX 4u
#endif
#ifndef OC_BLOCK
#define OC_BLOCK 8u
#endif

#define SPEC_ID_BITS 2
#define SPEC_ID_PER_CHANNEL 3
#define WEIGHT_ROWS OC_BLOCK

layout(std430, set = 0, binding = 0) readonly buffer ActIn { ACT_T act_in[]; };
layout(std430, set = 0, binding = 1) writeonly buffer ActOut { ACT_T act_out[]; };
#include "common/weights.glsl"

layout(push_constant) uniform Params {
  uint n, cin, h, w, cout, oh, ow, words_per_row, codebook_size, group_base, owb, positions;
} pc;

const uint OC_VECS = OC_BLOCK / 4u;
// Input columns one invocation needs per row: PX outputs, 3 taps, STRIDE apart.
const uint SPAN = (PX - 1u) * STRIDE + 3u;
const uint MAX_SPAN = (PX - 1u) * 2u + 3u;
const uint TAP_VECS = 9u * OC_VECS;  // weight vec4s per input channel in the tile
#ifdef SG_BCAST
const uint BCAST_FULL = TAP_VECS / SG_BCAST;
#endif
shared vec4 s_w[CIN_CHUNK * 9u * OC_VECS];

// Input value of tap kk (= ky*3 + kx) for pixel p of the block. Both candidate
// indices are compile-time constants once the loops are unrolled, so the x array can
// live in registers; indexing with p * STRIDE directly would make the index depend on
// a specialization constant and keep x in (per-lane, slow) scratch memory on lavapipe.
#define tap_input(x, kk, p) \
  (STRIDE == 1u ? x[(kk) / 3u][(p) + (kk) % 3u] : x[(kk) / 3u][2u * (p) + (kk) % 3u])

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint wg = gl_WorkGroupSize.x;
  const uint oc0 = gl_WorkGroupID.y * OC_BLOCK;
#ifdef SG_BCAST
  const uint sg_lane = gl_SubgroupInvocationID;
#endif
  stage_codebooks(oc0, pc.cout, pc.codebook_size, lid, wg);

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
  const uint plane = pc.h * pc.w;
  const uint in_img = img * pc.cin * plane;

  vec4 acc[PX * OC_VECS];
  [[unroll]] for (uint i = 0u; i < PX * OC_VECS; ++i) acc[i] = vec4(0.0);

  for (uint ic0 = 0u; ic0 < pc.cin; ic0 += CIN_CHUNK) {
    const uint count = min(CIN_CHUNK, pc.cin - ic0);
    // The previous chunk's reads must finish before the tile is overwritten.
    barrier();
    const uint units = count * 9u * OC_VECS;
    for (uint u = lid; u < units; u += wg) {
      const uint kk = u / OC_VECS;  // ic_local * 9 + ky * 3 + kx
      const uint t0 = (u - kk * OC_VECS) * 4u;
      const uint e = ic0 * 9u + kk;
      vec4 v;
      [[unroll]] for (uint c = 0u; c < 4u; ++c) {
        const uint oc = oc0 + t0 + c;
        // Channels past Cout decode as zero weights; their results are never stored.
        v[c] = oc < pc.cout ? fetch_weight(oc, e, t0 + c, pc.words_per_row) : 0.0;
      }
      s_w[u] = v;
    }
    barrier();

    uint in_base = in_img + ic0 * plane;
    for (uint icl = 0u; icl < count; ++icl, in_base += plane) {
      // The 3 input rows this channel contributes: clamped unconditional loads and a
      // select keep the loop free of branches. Unrolled to the stride-2 span;
      // specialization folds away the unused tail at stride 1.
      float x[3][MAX_SPAN];
      [[unroll]] for (uint ky = 0u; ky < 3u; ++ky) {
        const int iy = iy0 + int(ky);
        const bool row_ok = iy >= 0 && iy < int(pc.h);
        const uint row = in_base + uint(clamp(iy, 0, int(pc.h) - 1)) * pc.w;
        [[unroll]] for (uint j = 0u; j < MAX_SPAN; ++j) {
          x[ky][j] = 0.0;
          if (j < SPAN) {
            const int ix = ix0 + int(j);
            const float v = ACT_LOAD(act_in[row + uint(clamp(ix, 0, int(pc.w) - 1))]);
            x[ky][j] = (row_ok && ix >= 0 && ix < int(pc.w)) ? v : 0.0;
          }
        }
      }
      const uint wbase = icl * TAP_VECS;
#ifdef SG_BCAST
      // The host picks this variant from the *reported* subgroup size, which some
      // drivers misreport; the uniform branch keeps results right if it lies.
      if (gl_SubgroupSize == SG_BCAST) {
      // Each lane loads 1/SG_BCAST of the channel's weights and the subgroup shares
      // them by broadcast: SG_BCAST times fewer shared-memory loads, which matters
      // where every load is a per-lane loop (lavapipe) and costs nothing elsewhere.
      // Whole groups of SG_BCAST vec4s go through broadcasts; the remainder
      // (TAP_VECS % SG_BCAST) is loaded directly. Keeping the guard out of the
      // unrolled loops lets glslc unroll them, so acc and x stay in registers.
      [[unroll]] for (uint m = 0u; m < BCAST_FULL; ++m) {
        const vec4 mine = s_w[wbase + m * SG_BCAST + sg_lane];
        vec4 wb[8];
        wb[0] = subgroupBroadcast(mine, 0u);
        wb[1] = subgroupBroadcast(mine, 1u);
        wb[2] = subgroupBroadcast(mine, 2u);
        wb[3] = subgroupBroadcast(mine, 3u);
        wb[4] = subgroupBroadcast(mine, 4u);
        wb[5] = subgroupBroadcast(mine, 5u);
        wb[6] = subgroupBroadcast(mine, 6u);
        wb[7] = subgroupBroadcast(mine, 7u);
        [[unroll]] for (uint l = 0u; l < SG_BCAST; ++l) {
          const uint u = m * SG_BCAST + l;  // ((ky * 3 + kx) * OC_VECS + t)
          const uint kk = u / OC_VECS, t = u % OC_VECS;
          [[unroll]] for (uint p = 0u; p < PX; ++p) {
            acc[p * OC_VECS + t] += tap_input(x, kk, p) * wb[l];
          }
        }
      }
      [[unroll]] for (uint u = BCAST_FULL * SG_BCAST; u < TAP_VECS; ++u) {
        const uint kk = u / OC_VECS, t = u % OC_VECS;
        const vec4 wv = s_w[wbase + u];
        [[unroll]] for (uint p = 0u; p < PX; ++p) {
          acc[p * OC_VECS + t] += tap_input(x, kk, p) * wv;
        }
      }
      } else
#endif
      {
      [[unroll]] for (uint u = 0u; u < TAP_VECS; ++u) {
        const uint kk = u / OC_VECS, t = u % OC_VECS;
        const vec4 wv = s_w[wbase + u];
        [[unroll]] for (uint p = 0u; p < PX; ++p) {
          acc[p * OC_VECS + t] += tap_input(x, kk, p) * wv;
        }
      }
      }
    }
  }

  const uint pixels = pc.oh * pc.ow;
  [[unroll]] for (uint p = 0u; p < PX; ++p) {
    const uint ox = ox0 + p;
    const bool px_ok = in_range && ox < pc.ow;
    const uint out_px = img * pc.cout * pixels + oy * pc.ow + ox;
    [[unroll]] for (uint v = 0u; v < OC_VECS; ++v) {
      const vec4 a = acc[p * OC_VECS + v];
      [[unroll]] for (uint c = 0u; c < 4u; ++c) {
        const uint oc = oc0 + v * 4u + c;
        if (px_ok && oc < pc.cout) {
          float o = a[c] + bias[oc];
          if (RELU) o = max(o, 0.0);
          act_out[out_px + oc * pixels] = ACT_STORE(o);
        }
      }
    }
  }
}
