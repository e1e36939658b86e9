// SPDX-License-Identifier: MIT
// fully_connected_gemv: [N][In] -> [N][Out], y = W x + b, optional ReLU: the GPU fc as
// a subgroup GEMV. Each subgroup takes ROWS_PER_PASS = 4 output rows at a time and its
// lanes split the row length (K): lane l reads 128-bit index words l, l + S, l + 2S, ...
// (S = gl_SubgroupSize) of each of the 4 rows, so a subgroup's index loads are
// consecutive uvec4s, and the partial sums meet in one subgroupAdd per row and image.
// IMGS images share every decoded weight. The activations of those images and the
// codebooks are staged in shared memory once per workgroup, before anything diverges.
// Works at any subgroup size (it reads gl_SubgroupSize / gl_NumSubgroups; the host only
// sizes the workgroup as whole subgroups of the reported size) and with partial
// subgroups.
//
// Buffers (set 0, std430):
//   0  float act_in[N][In]
//   1  float act_out[N][Out]
//   2  uvec4 weight_vec4[Out][vecs_per_row]  row-major, each row padded with zero
//                         words to whole uvec4s; unused index slots of a row's last
//                         word are zero too (the host repacks at load time). BITS 1..8:
//                         indices as in common/weights.glsl (LSB-first, 32/BITS per
//                         word); BITS 0: fp32 bits, one per word.
//   3  float codebooks[]  groups * codebook_size (unread when BITS == 0)
//   4  float bias[Out]
// Specialization constants:
//   0  WG          local_size_x: a multiple of the device's subgroup size (host: <= 128
//                  and the device limit)
//   1  BITS        0 = dense fp32, 1..8 = index width
//   2  PER_CHANNEL codebook per output row
//   3  RELU
//   4  IMGS        images per workgroup (1..4)
//   5  ROW_GROUPS  groups of 4 rows per workgroup: rows per workgroup = 4 * ROW_GROUPS
//   6  K_PADDED    vecs_per_row * (4 words of indices): activations staged per image
// Shared memory (floats): IMGS * K_PADDED activations (zero past In and past N; staged
//   with vec4 loads through a vec4 alias of binding 0 when In % 4 == 0), plus
//   codebooks: per layer 2^BITS entries times CB_COPIES (below), per channel
//   4 * ROW_GROUPS * 2^BITS; 1 when BITS == 0. Entries past codebook_size are zero.
// Push constants (5 x uint, 20 bytes): N, In, Out, vecs_per_row, codebook_size.
// Dispatch: x = ceil(Out / (4 * ROW_GROUPS)), y = ceil(N / IMGS), z = 1.
// Divisibility: none. Rows past Out and images past N compute clamped duplicates (or
// zeros) and skip their writes; padded K positions multiply staged zeros.
//
// Bank conflicts: all lanes of a subgroup look up the same row's codebook at a time.
// Up to 5 bits a codebook spans at most 32 consecutive words, so distinct entries sit
// in distinct banks (equal entries broadcast). From 6 bits a per-layer codebook is
// duplicated CB_COPIES times, interleaved (entry e, copy c at e * CB_COPIES + c, lane l
// reading copy l % CB_COPIES), 4 KiB in all: lanes with different copies never share a
// bank. Per-channel 6..8-bit codebooks are not duplicated (4 rows x 4 KiB would not fit).
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_EXT_control_flow_attributes : require

layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 1) const uint BITS = 4;
layout(constant_id = 2) const bool PER_CHANNEL = false;
layout(constant_id = 3) const bool RELU = false;
layout(constant_id = 4) const uint IMGS = 1;
layout(constant_id = 5) const uint ROW_GROUPS = 4;
layout(constant_id = 6) const uint K_PADDED = 32;

layout(std430, set = 0, binding = 0) readonly buffer ActIn { float act_in[]; };
// The same buffer as vec4s, for staging with 128-bit loads when In % 4 == 0.
layout(std430, set = 0, binding = 0) readonly buffer ActIn4 { vec4 act_in4[]; };
layout(std430, set = 0, binding = 1) writeonly restrict buffer ActOut { float act_out[]; };
layout(std430, set = 0, binding = 2) readonly restrict buffer WeightVec4 { uvec4 weight_vec4[]; };
layout(std430, set = 0, binding = 3) readonly restrict buffer Codebooks { float codebooks[]; };
layout(std430, set = 0, binding = 4) readonly restrict buffer Bias { float bias[]; };

layout(push_constant) uniform Params {
  uint n, in_features, out_features, vecs_per_row, codebook_size;
} pc;

const uint ROWS_PER_PASS = 4u;
const uint WG_ROWS = ROWS_PER_PASS * ROW_GROUPS;
const uint PER_WORD = BITS == 0u ? 1u : 32u / BITS;
const uint PER_VEC = 4u * PER_WORD;

// Decodes word c of the lane's uvec4 for the 4 rows and accumulates it into all IMGS
// images. The four words are unrolled where a word holds at most 8 indices; at 1..3 bits
// (10..32 indices per word) they stay a loop, so the unrolled code is never longer than
// 4-bit's (32 indices x 4 rows x IMGS), which CPU drivers compile in seconds, not minutes.
#define ACCUMULATE_WORD(c)                                                              \
  [[unroll]] for (uint j = 0u; j < PER_WORD; ++j) {                                     \
    const uint k = kb + (c) * PER_WORD + j;                                             \
    float a[IMGS];                                                                      \
    [[unroll]] for (uint m = 0u; m < IMGS; ++m) a[m] = s_act[m * K_PADDED + k];         \
    [[unroll]] for (uint r = 0u; r < ROWS_PER_PASS; ++r) {                              \
      float wt;                                                                         \
      if (BITS == 0u) {                                                                 \
        wt = uintBitsToFloat(w[r][c]);                                                  \
      } else {                                                                          \
        const uint idx = bitfieldExtract(w[r][c], int(j * BITS), int(BITS));            \
        wt = PER_CHANNEL ? s_codebook[(g * ROWS_PER_PASS + r) * CB_CAPACITY + idx]      \
                         : s_codebook[idx * CB_COPIES + copy];                          \
      }                                                                                 \
      [[unroll]] for (uint m = 0u; m < IMGS; ++m) acc[r * IMGS + m] += wt * a[m];       \
    }                                                                                   \
  }
const uint CB_CAPACITY = 1u << BITS;
const uint CB_COPIES = (PER_CHANNEL || BITS <= 5u) ? 1u : (1024u >> BITS);
const uint CB_FLOATS = BITS == 0u ? 1u : (PER_CHANNEL ? WG_ROWS * CB_CAPACITY : CB_CAPACITY * CB_COPIES);
shared float s_codebook[CB_FLOATS];
shared float s_act[IMGS * K_PADDED];

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint wg = gl_WorkGroupSize.x;
  const uint row0 = gl_WorkGroupID.x * WG_ROWS;
  const uint img0 = gl_WorkGroupID.y * IMGS;

  // Staging, before anything diverges.
  if (BITS != 0u) {
    for (uint i = lid; i < CB_FLOATS; i += wg) {
      float v = 0.0;
      if (PER_CHANNEL) {
        const uint slot = i / CB_CAPACITY;
        const uint e = i - slot * CB_CAPACITY;
        const uint row = min(row0 + slot, pc.out_features - 1u);
        if (e < pc.codebook_size) v = codebooks[row * pc.codebook_size + e];
      } else {
        const uint e = i / CB_COPIES;
        if (e < pc.codebook_size) v = codebooks[e];
      }
      s_codebook[i] = v;
    }
  }
  for (uint m = 0u; m < IMGS; ++m) {
    const bool img_ok = img0 + m < pc.n;
    const uint base = (img0 + m) * pc.in_features;
    if (pc.in_features % 4u == 0u) {
      // K_PADDED is a multiple of 4 and so is In: a vec4 is wholly inside or past the row.
      for (uint q = lid; q < K_PADDED / 4u; q += wg) {
        const vec4 x = (img_ok && 4u * q < pc.in_features) ? act_in4[base / 4u + q] : vec4(0.0);
        for (uint e = 0u; e < 4u; ++e) s_act[m * K_PADDED + 4u * q + e] = x[e];
      }
    } else {
      for (uint k = lid; k < K_PADDED; k += wg)
        s_act[m * K_PADDED + k] = (img_ok && k < pc.in_features) ? act_in[base + k] : 0.0;
    }
  }
  barrier();

  const uint lane = gl_SubgroupInvocationID;
  const uint copy = lane & (CB_COPIES - 1u);
  // g is uniform across the subgroup, so every subgroupAdd below is reached by all of
  // its active lanes.
  for (uint g = gl_SubgroupID; g < ROW_GROUPS; g += gl_NumSubgroups) {
    uint rows[ROWS_PER_PASS];
    [[unroll]] for (uint r = 0u; r < ROWS_PER_PASS; ++r)
      rows[r] = min(row0 + g * ROWS_PER_PASS + r, pc.out_features - 1u);
    float acc[ROWS_PER_PASS * IMGS];
    [[unroll]] for (uint i = 0u; i < ROWS_PER_PASS * IMGS; ++i) acc[i] = 0.0;

    for (uint v = lane; v < pc.vecs_per_row; v += gl_SubgroupSize) {
      uvec4 w[ROWS_PER_PASS];
      [[unroll]] for (uint r = 0u; r < ROWS_PER_PASS; ++r)
        w[r] = weight_vec4[rows[r] * pc.vecs_per_row + v];
      const uint kb = v * PER_VEC;
      if (PER_WORD <= 8u) {
        [[unroll]] for (uint c = 0u; c < 4u; ++c) { ACCUMULATE_WORD(c) }
      } else {
        [[dont_unroll]] for (uint c = 0u; c < 4u; ++c) { ACCUMULATE_WORD(c) }
      }
    }

    [[unroll]] for (uint r = 0u; r < ROWS_PER_PASS; ++r) {
      const uint out_idx = row0 + g * ROWS_PER_PASS + r;
      [[unroll]] for (uint m = 0u; m < IMGS; ++m) {
        const float sum = subgroupAdd(acc[r * IMGS + m]);
        if (subgroupElect() && out_idx < pc.out_features && img0 + m < pc.n) {
          float y = sum + bias[out_idx];
          if (RELU) y = max(y, 0.0);
          act_out[(img0 + m) * pc.out_features + out_idx] = y;
        }
      }
    }
  }
}
