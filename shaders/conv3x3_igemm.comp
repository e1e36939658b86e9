// SPDX-License-Identifier: MIT
// conv3x3_igemm: 3x3 convolution (pad 1, stride 1|2, fused bias and optional ReLU) as an
// implicit GEMM: M = N*OH*OW output pixels (the batch folded in), N = Cout, K = 9*Cin.
// Activations stay NCHW (the engine's layout); the im2col matrix is never built.
//
// Buffers (set 0, std430). ACT_T = float (_f32) or float16_t (_f16, common/activation.glsl):
//   0  ACT_T act_in[N][Cin][H][W]           readonly
//   1  ACT_T act_out[N][Cout][OH][OW]       writeonly   OH = (H-1)/STRIDE+1, OW likewise
//      With SPLIT_K the same binding is float partial[S][Cout][M] (the Network's
//      workspace): slice z's sums, no bias, no ReLU; shaders/conv3x3_splitk_reduce.comp
//      adds the S slices, the bias and the ReLU and writes act_out.
//   2  BITS 1..8: uvec4 index_chunks[ceil(Cin/R)][U][Cout]   readonly, repacked at load
//            time (engine/src/ops/igemm_index_chunks.cpp): chunk c of output channel oc is
//            U uvec4s holding the indices of input channels c*R .. c*R+R-1 as one LSB-first
//            bit stream (words x, y, z, w of uvec4 0, then of uvec4 1): index of tap
//            ky*3+kx of channel c*R+s at bit (s*9 + tap)*BITS, straddling words where it
//            falls so; the last chunk's channels past Cin are zero bits. U = 2 where one
//            uvec4 holds a single channel (BITS 8), else 1. At BITS 8 instead, taps 0-7
//            of channel c*R+s are bytes of words 2s and 2s+1, tap 8 byte s of word 6
//            (word 7 unused), so that the window moves by whole words.
//            R = floor(128*U / (9*BITS)): 14, 7, 4, 3, 2, 2, 2, 3 channels for BITS 1..8,
//            i.e. 1.02, 2.03, 3.56, 4.74, 7.11, 7.11, 7.11, 9.48 bits per weight.
//            BITS 0: uint group_words[Cin][Cout][9], the raw fp32 bits of (ic, oc)'s taps
//            (the same binding, declared twice; only one is read per specialization).
//   3  float codebooks[]                    readonly: groups * codebook_size
//   4  float bias[Cout]                     readonly
// Specialization constants:
//   2  BITS        0 = dense fp32, 1..8 = index width
//   3  PER_CHANNEL one codebook per output channel (else one per layer)
//   4  STRIDE      1 or 2
//   5  RELU        max(0, x) after the bias
//   7  CB_SHARED   codebooks staged in shared memory (else read from codebooks[] during
//                  the tile fill: per-channel codebooks of 6..8 bits do not fit next to
//                  the tiles in 16 KiB; the host decides from the device's limit)
//   8  DOUBLE_BUF  two tile buffers, one barrier per K stage (else one buffer, two
//                  barriers); the host picks it where the shared memory allows
//   9  SPLIT_K     workgroup z sums input channels [z*k_slice, min(Cin, (z+1)*k_slice))
//                  and stores fp32 partials (binding 1 above); false: all of Cin, the
//                  fused epilogue (the code is then exactly the unsplit kernel)
// Defines (one compiled variant each, shaders/CMakeLists.txt):
//   PX, OC_BLOCK  register block TM x TN: pixels x channels per invocation (multiples
//                 of 4; the variant list's BLOCKS); the invocation grid follows from it:
//                 GM = 16 along M, GN = TM along N (the A fill gives each invocation
//                 one tile pixel), so workgroup = GM*GN = BM = GM*TM pixels
//   ACT_FP16      half activation storage
//   MATH_FP16     fp16 arithmetic (needs shaderFloat16; the kernel table
//                 conv3x3_igemm_fp16math): tiles in shared memory as float16 (half the
//                 LDS bytes and traffic), each K stage's 9 taps multiplied and summed in
//                 f16vec4 (packed: v_pk_fma_f16 on RDNA) into fp16 partials that are added
//                 into the fp32 accumulators once per stage, so the fp16 error is that of
//                 a 9-term dot product and does not grow with Cin. Codebooks stay fp32 in
//                 shared memory; decoded values are rounded to fp16 when the tile is
//                 filled. The host uses it only where a measurement says it is faster
//                 (engine/src/ops/conv3x3_igemm_probe.cpp).
// Tile: BM = GM*TM pixels x BN = GN*TN channels; one K stage = one input channel
//   (9 taps), so every tap offset is a compile-time constant.
// Shared memory: (DOUBLE_BUF ? 2 : 1) * 9 * (BM + BN) floats (halves with MATH_FP16) of
//   tiles, plus with
//   CB_SHARED (PER_CHANNEL ? BN : 1) * (2^BITS + 1) floats of codebooks.
// Push constants (12 x uint, 48 bytes): N, Cin, H, W, Cout, OH, OW, GW (dense: 9 words per
//   group; indices: 4*U words per chunk and channel, unread), codebook_size, group_base
//   (first workgroup of this dispatch along x), M = N*OH*OW, k_slice (input channels per
//   K slice, a multiple of R with indices; read only with SPLIT_K).
// Dispatch: x = ceil(M / BM) - group_base (capped per dispatch), y = ceil(Cout / BN),
//   z = 1, or with SPLIT_K z = S = ceil(Cin / k_slice) (no slice is empty).
// Divisibility: none on the problem; Cin, Cout, H, W, N >= 1 are arbitrary. Partial tiles
// clamp their reads (duplicated pixels and channels are computed and never stored); no
// invocation returns early, so all of them reach every barrier.
//
// Why this shape: the hottest loop must be FMAs. Per K stage each invocation does
// TM*TN*9 FMAs from 9*(TM+TN)/4 vec4 shared-memory reads; the fill costs per invocation
// 9 activation loads (one pixel, the 9 taps of one channel: neighbouring invocations read
// neighbouring pixels) and, on the first BN invocations, 9 decodes from a window of U
// uvec4s held in registers: the stage's indices are always where stage 0's are (its low
// 9*BITS bits; at 8 bits words 0-1 and byte 0 of word 6), so every bit position is a
// compile-time constant; the window shifts right by 9*BITS bits per stage (8 bits: by
// two words, and word 6 by a byte) and is replaced by the prefetched chunk every R stages. The chunk of the next
// stage is loaded every stage (U 128-bit loads, neighbouring channels' chunks adjacent:
// a wave reads whole cache lines), a cache hit on all but one stage in R.
// The next stage's global loads are issued before this stage's FMAs (register
// prefetch), so their latency hides behind them. Operand reads are interleaved
// (invocation tm reads pixels tm*4.. and BM/2 + tm*4..) so that a wave's vec4 reads
// cover consecutive addresses and do not conflict in the banks.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common/activation.glsl"
#ifdef MATH_FP16
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define TILE_VEC f16vec4
#define TILE_SCALAR float16_t
#else
#define TILE_VEC vec4
#define TILE_SCALAR float
#endif

#ifndef PX
#define PX 8u
#endif
#ifndef OC_BLOCK
#define OC_BLOCK 8u
#endif
#define TM PX
#define TN OC_BLOCK
#define GM 16u
#define GN TM
const uint WG = GM * GN;
const uint BM = GM * TM;
const uint BN = GN * TN;
// The A fill gives every invocation exactly one pixel of the tile: TM == GN. (An array
// of size 0 is a compile error, so a variant breaking this does not build.)
const uint ONE_PIXEL_PER_INVOCATION[(TM == GN) ? 1 : 0] = uint[](1u);

layout(local_size_x = GM * GN, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 2) const uint BITS = 4;
layout(constant_id = 3) const bool PER_CHANNEL = false;
layout(constant_id = 4) const uint STRIDE = 1;
layout(constant_id = 5) const bool RELU = false;
layout(constant_id = 7) const bool CB_SHARED = true;
layout(constant_id = 8) const bool DOUBLE_BUF = true;
layout(constant_id = 9) const bool SPLIT_K = false;

layout(std430, set = 0, binding = 0) restrict readonly buffer ActIn { ACT_T act_in[]; };
layout(std430, set = 0, binding = 1) restrict writeonly buffer ActOut { ACT_T act_out[]; };
layout(std430, set = 0, binding = 1) restrict writeonly buffer Partial { float partial[]; };
layout(std430, set = 0, binding = 2) restrict readonly buffer GroupWords { uint group_words[]; };
layout(std430, set = 0, binding = 2) restrict readonly buffer IndexChunks { uvec4 index_chunks[]; };
layout(std430, set = 0, binding = 3) restrict readonly buffer Codebooks { float codebooks[]; };
layout(std430, set = 0, binding = 4) restrict readonly buffer Bias { float bias[]; };

layout(push_constant) uniform Params {
  uint n, cin, h, w, cout, oh, ow, gw, codebook_size, group_base, m, k_slice;
} pc;

const uint BUFS = DOUBLE_BUF ? 2u : 1u;
// Tiles as vec4s: s_a[buf][tap][BM/4] (pixels), s_b[buf][tap][BN/4] (channels).
shared TILE_VEC s_a[BUFS * 9u * (BM / 4u)];
shared TILE_VEC s_b[BUFS * 9u * (BN / 4u)];
// Codebook slots 2^BITS + 1 floats apart: the slots of neighbouring channels start one
// bank apart, so the fill's lookups (one channel per invocation) do not conflict, and an
// index >= codebook_size can only read stale shared memory, never past the array.
const uint CB_STRIDE = (1u << BITS) + 1u;
const uint CB_SLOTS = (CB_SHARED && BITS != 0u) ? (PER_CHANNEL ? BN : 1u) : 1u;
shared float s_cb[CB_SLOTS * CB_STRIDE];

// Dense: the 9 words of an (ic, oc) group. Indices: a chunk is CHUNK_VEC4S uvec4s of
// CHUNK_CHANNELS input channels (engine/src/ops/igemm_index_chunks.cpp derives the same).
const uint GW_MAX = BITS == 0u ? 9u : 1u;
const uint STAGE_BITS = BITS == 0u ? 9u : 9u * BITS;
const uint CHANNELS_IN_ONE = 128u / STAGE_BITS;
const uint CHANNELS_IN_TWO = 256u / STAGE_BITS;
const uint CHUNK_VEC4S = CHANNELS_IN_ONE < 2u ? 2u : 1u;
const uint CHUNK_CHANNELS = CHUNK_VEC4S == 2u ? CHANNELS_IN_TWO : CHANNELS_IN_ONE;
const uint HELD_WORDS = 4u * CHUNK_VEC4S;
const uint SHIFT_WORDS = STAGE_BITS / 32u;
const uint SHIFT_BITS = STAGE_BITS % 32u;
// 8 bits: taps 0-7 of stage s in words 2s, 2s+1, tap 8 in byte s of word 6 (see binding 2).
const bool TAIL_WORD = BITS == 8u;

float decode(uint word_bits, uint slot, uint oc) {
  if (BITS == 0u) return uintBitsToFloat(word_bits);
  if (CB_SHARED) return s_cb[(PER_CHANNEL ? slot : 0u) * CB_STRIDE + word_bits];
  const uint group = PER_CHANNEL ? oc : 0u;
  return codebooks[group * pc.codebook_size + min(word_bits, pc.codebook_size - 1u)];
}

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint tm = lid % GM;
  const uint tn = lid / GM;
  const uint m0 = (pc.group_base + gl_WorkGroupID.x) * BM;
  const uint oc0 = gl_WorkGroupID.y * BN;
  // This workgroup's input channels (all of them unless SPLIT_K).
  const uint ic_begin = SPLIT_K ? gl_WorkGroupID.z * pc.k_slice : 0u;
  const uint ic_end = SPLIT_K ? min(pc.cin, ic_begin + pc.k_slice) : pc.cin;

  // Codebooks first, in uniform control flow, published by a barrier before the
  // first fill decodes through them.
  if (CB_SHARED && BITS != 0u) {
    const uint total = CB_SLOTS * pc.codebook_size;
    for (uint i = lid; i < total; i += WG) {
      const uint slot = i / pc.codebook_size;
      const uint e = i - slot * pc.codebook_size;
      const uint group = PER_CHANNEL ? min(oc0 + slot, pc.cout - 1u) : 0u;
      s_cb[slot * CB_STRIDE + e] = codebooks[group * pc.codebook_size + e];
    }
  }
  barrier();

  // This invocation's pixel for the A fill (clamped: duplicates are never stored).
  const uint fm = min(m0 + lid, pc.m - 1u);
  const uint ohw = pc.oh * pc.ow;
  const uint f_img = fm / ohw;
  const uint f_p = fm - f_img * ohw;
  const uint f_oy = f_p / pc.ow;
  const int iy0 = int(f_oy * STRIDE) - 1;
  const int ix0 = int((f_p - f_oy * pc.ow) * STRIDE) - 1;
  const uint plane = pc.h * pc.w;
  // Per tap: in-bounds flag and clamped element offset within channel 0 of the image.
  bool tap_ok[9];
  uint tap_at[9];
  const uint center = f_img * pc.cin * plane + uint(iy0 + 1) * pc.w + uint(ix0 + 1);
  [[unroll]] for (uint t = 0u; t < 9u; ++t) {
    const int iy = iy0 + int(t / 3u), ix = ix0 + int(t % 3u);
    tap_ok[t] = iy >= 0 && iy < int(pc.h) && ix >= 0 && ix < int(pc.w);
    tap_at[t] = tap_ok[t] ? center + uint((int(t / 3u) - 1) * int(pc.w) + int(t % 3u) - 1)
                          : center;
  }
  // The B fill: invocations [0, BN) own one output channel each (clamped to Cout).
  const bool b_filler = lid < BN;
  const uint b_oc = min(oc0 + lid, pc.cout - 1u);

  // Register prefetch of stage ic: 9 activations, and the channel's weights: dense, the
  // stage's 9 words; indices, the window of its chunk (stage ic at its low bits).
  float pa[9];
  uint pb[GW_MAX];
  uint held[8], next_chunk[8];
  [[unroll]] for (uint t = 0u; t < 9u; ++t) pa[t] = ACT_LOAD(act_in[tap_at[t] + ic_begin * plane]);
  [[unroll]] for (uint j = 0u; j < 8u; ++j) { held[j] = 0u; next_chunk[j] = 0u; }
  if (b_filler) {
    if (BITS == 0u) {
      const uint base = (ic_begin * pc.cout + b_oc) * pc.gw;
      [[unroll]] for (uint j = 0u; j < GW_MAX; ++j) pb[j] = group_words[base + j];
    } else {
      // ic_begin is a multiple of R (the host's k_slice), so stage ic_begin opens a chunk.
      const uint base = (ic_begin / CHUNK_CHANNELS) * CHUNK_VEC4S * pc.cout + b_oc;
      [[unroll]] for (uint u = 0u; u < CHUNK_VEC4S; ++u) {
        const uvec4 v = index_chunks[base + u * pc.cout];
        next_chunk[u * 4u] = v.x; next_chunk[u * 4u + 1u] = v.y;
        next_chunk[u * 4u + 2u] = v.z; next_chunk[u * 4u + 3u] = v.w;
      }
    }
  }

  vec4 acc[TM][TN / 4u];
  [[unroll]] for (uint i = 0u; i < TM; ++i)
    [[unroll]] for (uint g = 0u; g < TN / 4u; ++g) acc[i][g] = vec4(0.0);

  for (uint ic = ic_begin; ic < ic_end; ++ic) {
    const uint buf = DOUBLE_BUF ? ((ic - ic_begin) & 1u) : 0u;
    const uint a_base = buf * 9u * (BM / 4u);
    const uint b_base = buf * 9u * (BN / 4u);
    // Single buffer: the previous stage's reads must finish before the overwrite.
    // Double buffer: the barrier below, one stage ago, already ordered them.
    if (!DOUBLE_BUF) barrier();
    [[unroll]] for (uint t = 0u; t < 9u; ++t)
      s_a[a_base + t * (BM / 4u) + lid / 4u][lid % 4u] = TILE_SCALAR(tap_ok[t] ? pa[t] : 0.0);
    if (b_filler) {
      // A stage opening a chunk takes the prefetched chunk; any other drops the previous
      // stage's 9*BITS bits from the window (ascending j reads only words not yet
      // rewritten). Selects on a uniform condition, so the loads stay unconditional:
      // a load under a branch makes the compiler copy its result at the join, which
      // waits for it there and undoes the prefetch.
      if (BITS != 0u) {
        const bool opens = ic % CHUNK_CHANNELS == 0u;
        [[unroll]] for (uint j = 0u; j < HELD_WORDS; ++j) {
          const uint lo = j + SHIFT_WORDS;
          uint v = lo < HELD_WORDS ? held[min(lo, 7u)] >> SHIFT_BITS : 0u;
          if (SHIFT_BITS != 0u && lo + 1u < HELD_WORDS) v |= held[min(lo + 1u, 7u)] << (32u - SHIFT_BITS);
          if (TAIL_WORD) v = j < 4u ? held[min(j + 2u, 7u)] : (j == 6u ? held[6] >> 8u : 0u);
          held[j] = opens ? next_chunk[j] : v;
        }
      }
      [[unroll]] for (uint t = 0u; t < 9u; ++t) {
        // Index t at bit p of the window; the upper word supplies a straddling tail.
        const uint p = TAIL_WORD ? (t < 8u ? t * 8u : 192u) : t * BITS;
        const uint q = min(p / 32u, 7u), r = p % 32u;
        uint bits_of;
        if (BITS == 0u) bits_of = pb[t];
        else if (r + BITS <= 32u) bits_of = bitfieldExtract(held[q], int(r), int(BITS));
        else bits_of = bitfieldExtract((held[q] >> r) | (held[min(q + 1u, 7u)] << (32u - r)), 0, int(BITS));
        s_b[b_base + t * (BN / 4u) + lid / 4u][lid % 4u] = TILE_SCALAR(decode(bits_of, lid, b_oc));
      }
    }
    barrier();

    // Prefetch the next stage (clamped to the last channel on the final stage).
    const uint nic = min(ic + 1u, ic_end - 1u);
    [[unroll]] for (uint t = 0u; t < 9u; ++t) pa[t] = ACT_LOAD(act_in[tap_at[t] + nic * plane]);
    if (b_filler) {
      if (BITS == 0u) {
        const uint base = (nic * pc.cout + b_oc) * pc.gw;
        [[unroll]] for (uint j = 0u; j < GW_MAX; ++j) pb[j] = group_words[base + j];
      } else {
        // The chunk of the next stage, every stage (a cache hit but every R-th): see above.
        const uint base = (nic / CHUNK_CHANNELS) * CHUNK_VEC4S * pc.cout + b_oc;
        [[unroll]] for (uint u = 0u; u < CHUNK_VEC4S; ++u) {
          const uvec4 v = index_chunks[base + u * pc.cout];
          next_chunk[u * 4u] = v.x; next_chunk[u * 4u + 1u] = v.y;
          next_chunk[u * 4u + 2u] = v.z; next_chunk[u * 4u + 3u] = v.w;
        }
      }
    }

#ifdef MATH_FP16
    // This stage's 9 taps in fp16, then one fp32 add per accumulator.
    f16vec4 part[TM][TN / 4u];
    [[unroll]] for (uint i = 0u; i < TM; ++i)
      [[unroll]] for (uint g = 0u; g < TN / 4u; ++g) part[i][g] = f16vec4(0.0hf);
#define STAGE_ACC part
#else
#define STAGE_ACC acc
#endif
    [[unroll]] for (uint t = 0u; t < 9u; ++t) {
      TILE_VEC a[TM / 4u], b[TN / 4u];
      [[unroll]] for (uint h = 0u; h < TM / 4u; ++h) a[h] = s_a[a_base + t * (BM / 4u) + tm + h * GM];
      [[unroll]] for (uint g = 0u; g < TN / 4u; ++g) b[g] = s_b[b_base + t * (BN / 4u) + tn + g * GN];
      [[unroll]] for (uint h = 0u; h < TM / 4u; ++h)
        [[unroll]] for (uint i = 0u; i < 4u; ++i)
          [[unroll]] for (uint g = 0u; g < TN / 4u; ++g) STAGE_ACC[h * 4u + i][g] += a[h][i] * b[g];
    }
#ifdef MATH_FP16
    [[unroll]] for (uint i = 0u; i < TM; ++i)
      [[unroll]] for (uint g = 0u; g < TN / 4u; ++g) acc[i][g] += vec4(part[i][g]);
#endif
#undef STAGE_ACC
  }

  [[unroll]] for (uint h = 0u; h < TM / 4u; ++h) {
    [[unroll]] for (uint i = 0u; i < 4u; ++i) {
      const uint m = m0 + h * (4u * GM) + tm * 4u + i;
      if (m >= pc.m) continue;
      const uint img = m / ohw;
      const uint out_px = img * pc.cout * ohw + (m - img * ohw);
      [[unroll]] for (uint g = 0u; g < TN / 4u; ++g) {
        [[unroll]] for (uint c = 0u; c < 4u; ++c) {
          const uint oc = oc0 + g * (4u * GN) + tn * 4u + c;
          if (SPLIT_K && oc < pc.cout) {
            partial[(gl_WorkGroupID.z * pc.cout + oc) * pc.m + m] = acc[h * 4u + i][g][c];
          } else if (oc < pc.cout) {
            float o = acc[h * 4u + i][g][c] + bias[oc];
            if (RELU) o = max(o, 0.0);
            act_out[out_px + oc * ohw] = ACT_STORE(o);
          }
        }
      }
    }
  }
}
