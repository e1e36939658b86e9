// SPDX-License-Identifier: MIT
// conv3x3: 3x3 convolution, pad 1, stride 1|2, fused bias and optional ReLU.
//
// Buffers (set 0, std430), activations NCHW contiguous, ACT_T = float (conv3x3_f32)
// or float16_t (conv3x3_f16, input and output both half):
//   0  ACT_T act_in[N][Cin][H][W]
//   1  ACT_T act_out[N][Cout][OH][OW]        OH = (H-1)/STRIDE+1, OW = (W-1)/STRIDE+1
//   2..4  weights, codebooks, bias           see common/weights.glsl; weight row k of
//                                            output channel oc is ic*9 + ky*3 + kx
// Specialization constants:
//   0  WG_PIXELS    local_size_x: output pixels per workgroup (any value >= 1)
//   1  OC_TILE      output channels per invocation (>= 1); per-channel codebooks
//                   need OC_TILE * 2^BITS floats of shared memory
//   2  BITS         0 = dense fp32 weights, 1..8 = codebook index width
//   3  PER_CHANNEL  codebook per output channel (true) or per layer (false)
//   4  STRIDE       1 or 2
//   5  RELU         apply max(0, x) after the bias
// Push constants (10 x uint, 40 bytes): N, Cin, H, W, Cout, OH, OW, words_per_row,
//   codebook_size, pixel_base (first output pixel of this dispatch; lets the host
//   split OH*OW across dispatches when x would exceed maxComputeWorkGroupCount).
// Dispatch: x = ceil((OH*OW - pixel_base) / WG_PIXELS) (capped per dispatch),
//           y = ceil(Cout / OC_TILE), z = N.
// Divisibility: none. Cin, Cout, H, W and N are arbitrary (>= 1); partial tiles are
// handled by clamping reads and guarding writes, never by returning early, so every
// invocation reaches the codebook barrier.
//
// Each invocation computes OC_TILE channels of one output pixel, so each input value
// it loads is reused OC_TILE times. Each index word is read once (whole 32 bits) and
// decoded 32/BITS times from a register with bitfieldExtract through the shared-memory
// codebook; accumulation is fp32. On lavapipe the per-lane codebook and weight
// gathers, not the MACs, dominate (about 0.03 GMAC/s on 2 loaded cores): the
// baseline for later tiling work.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common/activation.glsl"

layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 1) const uint OC_TILE = 4;
layout(constant_id = 4) const uint STRIDE = 1;
layout(constant_id = 5) const bool RELU = false;

#define SPEC_ID_BITS 2
#define SPEC_ID_PER_CHANNEL 3
#define WEIGHT_ROWS OC_TILE

layout(std430, set = 0, binding = 0) readonly buffer ActIn { ACT_T act_in[]; };
layout(std430, set = 0, binding = 1) writeonly buffer ActOut { ACT_T act_out[]; };
#include "common/weights.glsl"

layout(push_constant) uniform Params {
  uint n, cin, h, w, cout, oh, ow, words_per_row, codebook_size, pixel_base;
} pc;

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint img = gl_WorkGroupID.z;
  const uint oc0 = gl_WorkGroupID.y * OC_TILE;
  stage_codebooks(oc0, pc.cout, pc.codebook_size, lid, gl_WorkGroupSize.x);

  const uint pixels = pc.oh * pc.ow;
  const uint pix = pc.pixel_base + gl_WorkGroupID.x * gl_WorkGroupSize.x + lid;
  const bool in_range = pix < pixels;
  // Inactive invocations compute a duplicate of the last pixel and discard it.
  const uint p = min(pix, pixels - 1u);
  const uint oy = p / pc.ow;
  const uint ox = p - oy * pc.ow;
  const int iy0 = int(oy * STRIDE) - 1;
  const int ix0 = int(ox * STRIDE) - 1;

  float acc[OC_TILE];
  uint row_base[OC_TILE];
  uint word[OC_TILE];  // current index word of each channel's row
  for (uint t = 0u; t < OC_TILE; ++t) {
    acc[t] = 0.0;
    row_base[t] = min(oc0 + t, pc.cout - 1u) * pc.words_per_row;
    word[t] = weight_words[row_base[t]];
  }

  const uint per_word = indices_per_word();
  const uint plane = pc.h * pc.w;
  uint in_base = img * pc.cin * plane;
  // Row position advanced in k order (ic, ky, kx) to avoid a division per weight.
  uint word_off = 0u;
  uint slot = 0u;
  for (uint ic = 0u; ic < pc.cin; ++ic, in_base += plane) {
    for (int ky = 0; ky < 3; ++ky) {
      const int iy = iy0 + ky;
      const bool row_ok = iy >= 0 && iy < int(pc.h);
      for (int kx = 0; kx < 3; ++kx) {
        const int ix = ix0 + kx;
        float x = 0.0;
        if (row_ok && ix >= 0 && ix < int(pc.w)) {
          x = ACT_LOAD(act_in[in_base + uint(iy) * pc.w + uint(ix)]);
        }
        for (uint t = 0u; t < OC_TILE; ++t) acc[t] += x * decode_weight(word[t], slot, t);
        // Each word is read once and then decoded per_word times from a register.
        if (++slot == per_word) {
          slot = 0u;
          if (++word_off < pc.words_per_row) {
            for (uint t = 0u; t < OC_TILE; ++t) word[t] = weight_words[row_base[t] + word_off];
          }
        }
      }
    }
  }

  if (in_range) {
    for (uint t = 0u; t < OC_TILE; ++t) {
      const uint oc = oc0 + t;
      if (oc < pc.cout) {
        float v = acc[t] + bias[oc];
        if (RELU) v = max(v, 0.0);
        act_out[(img * pc.cout + oc) * pixels + p] = ACT_STORE(v);
      }
    }
  }
}
