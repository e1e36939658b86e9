// conv3x3_igemm: 3x3 convolution (pad 1, stride 1|2, fused bias and optional ReLU) as an
// implicit GEMM: M = N*OH*OW output pixels (the batch folded in), N = Cout, K = 9*Cin.
// Activations stay NCHW (the engine's layout); the im2col matrix is never built.
//
// Buffers (set 0, std430). ACT_T = float (_f32) or float16_t (_f16, common/activation.glsl):
//   0  ACT_T act_in[N][Cin][H][W]           readonly
//   1  ACT_T act_out[N][Cout][OH][OW]       writeonly   OH = (H-1)/STRIDE+1, OW likewise
//   2  uint  group_words[Cin][Cout][GW]     readonly: the 9 weights of (ic, oc), tap
//            ky*3+kx, repacked at load time (engine/src/ops/conv3x3_igemm.cpp): BITS 1..8:
//            LSB-first indices, 32/BITS per word, never straddling, GW = ceil(9/(32/BITS))
//            words; BITS 0: 9 raw fp32 words (GW = 9). One (ic, oc) group is one
//            GW-word vector load (32/64/96 bits; 288 for dense).
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
// Push constants (11 x uint, 44 bytes): N, Cin, H, W, Cout, OH, OW, GW, codebook_size,
//   group_base (first workgroup of this dispatch along x), M = N*OH*OW.
// Dispatch: x = ceil(M / BM) - group_base (capped per dispatch), y = ceil(Cout / BN), z = 1.
// Divisibility: none on the problem; Cin, Cout, H, W, N >= 1 are arbitrary. Partial tiles
// clamp their reads (duplicated pixels and channels are computed and never stored); no
// invocation returns early, so all of them reach every barrier.
//
// Why this shape: the hottest loop must be FMAs. Per K stage each invocation does
// TM*TN*9 FMAs from 9*(TM+TN)/4 vec4 shared-memory reads; the fill costs per invocation
// 9 activation loads (one pixel, the 9 taps of one channel: neighbouring invocations read
// neighbouring pixels) and, on the first BN invocations, one group load and 9 decodes.
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

layout(std430, set = 0, binding = 0) restrict readonly buffer ActIn { ACT_T act_in[]; };
layout(std430, set = 0, binding = 1) restrict writeonly buffer ActOut { ACT_T act_out[]; };
layout(std430, set = 0, binding = 2) restrict readonly buffer GroupWords { uint group_words[]; };
layout(std430, set = 0, binding = 3) restrict readonly buffer Codebooks { float codebooks[]; };
layout(std430, set = 0, binding = 4) restrict readonly buffer Bias { float bias[]; };

layout(push_constant) uniform Params {
  uint n, cin, h, w, cout, oh, ow, gw, codebook_size, group_base, m;
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

// Maximum words per (ic, oc) group: 9 when dense, else ceil(9 / (32 / BITS)) <= 3.
const uint IPW = BITS == 0u ? 1u : 32u / BITS;
const uint GW_MAX = BITS == 0u ? 9u : (9u + IPW - 1u) / IPW;

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

  // Register prefetch of stage ic: 9 activations, and the channel's index words.
  float pa[9];
  uint pb[GW_MAX];
  [[unroll]] for (uint t = 0u; t < 9u; ++t) pa[t] = ACT_LOAD(act_in[tap_at[t]]);
  if (b_filler) {
    const uint base = b_oc * pc.gw;
    [[unroll]] for (uint j = 0u; j < GW_MAX; ++j) pb[j] = group_words[base + j];
  }

  vec4 acc[TM][TN / 4u];
  [[unroll]] for (uint i = 0u; i < TM; ++i)
    [[unroll]] for (uint g = 0u; g < TN / 4u; ++g) acc[i][g] = vec4(0.0);

  for (uint ic = 0u; ic < pc.cin; ++ic) {
    const uint buf = DOUBLE_BUF ? (ic & 1u) : 0u;
    const uint a_base = buf * 9u * (BM / 4u);
    const uint b_base = buf * 9u * (BN / 4u);
    // Single buffer: the previous stage's reads must finish before the overwrite.
    // Double buffer: the barrier below, one stage ago, already ordered them.
    if (!DOUBLE_BUF) barrier();
    [[unroll]] for (uint t = 0u; t < 9u; ++t)
      s_a[a_base + t * (BM / 4u) + lid / 4u][lid % 4u] = TILE_SCALAR(tap_ok[t] ? pa[t] : 0.0);
    if (b_filler) {
      [[unroll]] for (uint t = 0u; t < 9u; ++t) {
        const uint word = BITS == 0u ? pb[t] : pb[t / IPW];
        const uint bits_of = BITS == 0u ? word : bitfieldExtract(word, int((t % IPW) * BITS), int(BITS));
        s_b[b_base + t * (BN / 4u) + lid / 4u][lid % 4u] = TILE_SCALAR(decode(bits_of, lid, b_oc));
      }
    }
    barrier();

    // Prefetch the next stage (clamped to the last channel on the final stage).
    const uint nic = min(ic + 1u, pc.cin - 1u);
    [[unroll]] for (uint t = 0u; t < 9u; ++t) pa[t] = ACT_LOAD(act_in[tap_at[t] + nic * plane]);
    if (b_filler) {
      const uint base = (nic * pc.cout + b_oc) * pc.gw;
      [[unroll]] for (uint j = 0u; j < GW_MAX; ++j) pb[j] = group_words[base + j];
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
          if (oc < pc.cout) {
            float o = acc[h * 4u + i][g][c] + bias[oc];
            if (RELU) o = max(o, 0.0);
            act_out[out_px + oc * ohw] = ACT_STORE(o);
          }
        }
      }
    }
  }
}
