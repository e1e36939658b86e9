// SPDX-License-Identifier: MIT
// fully_connected_rows: [N][In] -> [N][Out], y = W x + b, optional ReLU: the GPU fc.
// One invocation per output row and IMGS images per workgroup. Index words are
// transposed at load time so that neighbouring invocations (rows) read neighbouring
// 128-bit words, and each invocation reads whole uvec4s (4 words, 4*32/BITS indices);
// the activations are the same for every invocation of a workgroup, so they are
// uniform (scalar) loads. Nothing depends on the subgroup size.
//
// Buffers (set 0, std430):
//   0  float act_in[N][In]
//   1  float act_out[N][Out]
//   2  uvec4 weight_vec4[vecs_per_row][Out]  word w of row r is component w%4 of
//                         element (w/4)*Out + r; rows padded with zero words to a
//                         multiple of 4 words (vecs_per_row*4). BITS 1..8: packed
//                         indices as in common/weights.glsl; BITS 0: fp32 bits.
//   3  float codebooks[]  groups * codebook_size (unread when BITS == 0)
//   4  float bias[Out]
// Specialization constants:
//   0  WG_SIZE      local_size_x: rows per workgroup (host: <= 128 and the device limit)
//   1  BITS         0 = dense fp32, 1..8 = index width
//   2  PER_CHANNEL  codebook per output row
//   3  RELU
//   4  IMGS         images per workgroup (1..8)
// Shared memory: (PER_CHANNEL ? WG_SIZE : 1) * (2^BITS + 1) floats: each codebook
// padded by one float so that rows reading the same index fall in different banks.
// Push constants (5 x uint, 20 bytes): N, In, Out, vecs_per_row, codebook_size.
// Dispatch: x = ceil(Out / WG_SIZE), y = ceil(N / IMGS), z = 1.
// Divisibility: none; invocations past Out or N compute clamped duplicates and skip
// their writes, after the codebook barrier that all of them reach.
#version 450

layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 1) const uint BITS = 4;
layout(constant_id = 2) const bool PER_CHANNEL = false;
layout(constant_id = 3) const bool RELU = false;
layout(constant_id = 4) const uint IMGS = 4;

layout(std430, set = 0, binding = 0) readonly buffer ActIn { float act_in[]; };
layout(std430, set = 0, binding = 1) writeonly buffer ActOut { float act_out[]; };
layout(std430, set = 0, binding = 2) readonly buffer WeightVec4 { uvec4 weight_vec4[]; };
layout(std430, set = 0, binding = 3) readonly buffer Codebooks { float codebooks[]; };
layout(std430, set = 0, binding = 4) readonly buffer Bias { float bias[]; };

layout(push_constant) uniform Params {
  uint n, in_features, out_features, vecs_per_row, codebook_size;
} pc;

const uint CB_STRIDE = (1u << BITS) + 1u;
const uint CB_SLOTS = PER_CHANNEL ? gl_WorkGroupSize.x : 1u;
shared float s_codebook[BITS == 0u ? 1u : CB_SLOTS * CB_STRIDE];

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint row0 = gl_WorkGroupID.x * gl_WorkGroupSize.x;
  const uint img0 = gl_WorkGroupID.y * IMGS;
  // Codebooks first, before anything diverges.
  if (BITS != 0u) {
    const uint total = CB_SLOTS * pc.codebook_size;
    for (uint i = lid; i < total; i += gl_WorkGroupSize.x) {
      const uint slot = i / pc.codebook_size;
      const uint e = i - slot * pc.codebook_size;
      const uint group = PER_CHANNEL ? min(row0 + slot, pc.out_features - 1u) : 0u;
      s_codebook[slot * CB_STRIDE + e] = codebooks[group * pc.codebook_size + e];
    }
  }
  barrier();

  const uint out_idx = row0 + lid;
  const uint row = min(out_idx, pc.out_features - 1u);
  const uint cb = PER_CHANNEL ? lid * CB_STRIDE : 0u;
  const uint per_word = BITS == 0u ? 1u : 32u / BITS;
  uint img_base[IMGS];
  for (uint m = 0u; m < IMGS; ++m) img_base[m] = min(img0 + m, pc.n - 1u) * pc.in_features;
  float acc[IMGS];
  for (uint m = 0u; m < IMGS; ++m) acc[m] = 0.0;

  uint k = 0u;
  for (uint v = 0u; v < pc.vecs_per_row; ++v) {
    const uvec4 w4 = weight_vec4[v * pc.out_features + row];
    for (uint c = 0u; c < 4u; ++c) {
      const uint word = w4[c];
      for (uint j = 0u; j < per_word; ++j, ++k) {
        if (k >= pc.in_features) break;  // padding at the row's end
        const float w = BITS == 0u ? uintBitsToFloat(word)
                                   : s_codebook[cb + bitfieldExtract(word, int(j * BITS), int(BITS))];
        for (uint m = 0u; m < IMGS; ++m) acc[m] += w * act_in[img_base[m] + k];
      }
    }
  }

  if (out_idx >= pc.out_features) return;
  const float b = bias[out_idx];
  for (uint m = 0u; m < IMGS; ++m) {
    if (img0 + m >= pc.n) break;
    float y = acc[m] + b;
    if (RELU) y = max(y, 0.0);
    act_out[(img0 + m) * pc.out_features + out_idx] = y;
  }
}
