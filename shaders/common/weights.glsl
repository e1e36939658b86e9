// SPDX-License-Identifier: MIT
// Weight bindings and decoding shared by conv3x3, conv3x3_tiled and fully_connected.
//
// Bindings (set 0):
//   2  uint  weight_words[]  BITS 1..8: packed codebook indices, LSB-first,
//                            32/BITS indices per word (never straddling), every
//                            output row starting on a fresh word: row r occupies
//                            words [r*words_per_row, (r+1)*words_per_row).
//                            BITS 0: dense fp32 weights as raw bits, one per word
//                            (the host passes words_per_row = row length).
//   3  float codebooks[]     groups * codebook_size (groups = 1 per layer, or one
//                            per output row). Bound but unread when BITS == 0.
//   4  float bias[]          one per output row.
//
// Before including, the shader defines:
//   SPEC_ID_BITS, SPEC_ID_PER_CHANNEL  specialization constant ids
//   WEIGHT_ROWS  (spec) constant: output rows one workgroup covers. Per-channel
//                codebooks stage WEIGHT_ROWS codebooks, per-layer ones a single one.
// Shared memory used: (PER_CHANNEL ? WEIGHT_ROWS : 1) * 2^BITS floats; the host
// checks this against maxComputeSharedMemorySize before creating the pipeline.
#ifndef REPVK_COMMON_WEIGHTS_GLSL
#define REPVK_COMMON_WEIGHTS_GLSL

layout(constant_id = SPEC_ID_BITS) const uint BITS = 4;  // 0 = dense fp32
layout(constant_id = SPEC_ID_PER_CHANNEL) const bool PER_CHANNEL = false;

layout(std430, set = 0, binding = 2) readonly buffer WeightWords { uint weight_words[]; };
layout(std430, set = 0, binding = 3) readonly buffer Codebooks { float codebooks[]; };
layout(std430, set = 0, binding = 4) readonly buffer Bias { float bias[]; };

// Slots are 2^BITS apart rather than codebook_size apart so that a malformed index
// (>= codebook_size) can only read stale shared memory, never past the array.
const uint CB_CAPACITY = 1u << BITS;
const uint CB_SLOTS = PER_CHANNEL ? WEIGHT_ROWS : 1u;
shared float s_codebook[CB_SLOTS * CB_CAPACITY];

// Copies the codebooks of rows [first_row, first_row + WEIGHT_ROWS) into shared
// memory (rows past `rows` repeat the last one, so every slot is defined). Must be
// reached by every invocation of the workgroup, in uniform control flow, before
// anything that could diverge: it ends with the barrier.
void stage_codebooks(uint first_row, uint rows, uint codebook_size, uint lid, uint wg_size) {
  if (BITS != 0u) {
    const uint total = CB_SLOTS * codebook_size;
    for (uint i = lid; i < total; i += wg_size) {
      const uint slot = i / codebook_size;
      const uint e = i - slot * codebook_size;
      const uint group = PER_CHANNEL ? min(first_row + slot, rows - 1u) : 0u;
      s_codebook[slot * CB_CAPACITY + e] = codebooks[group * codebook_size + e];
    }
  }
  barrier();
}

// Indices held by one weight word (1 when dense).
uint indices_per_word() { return BITS == 0u ? 1u : 32u / BITS; }

// Weight `index_in_word` of `word`, decoded through codebook slot `row_slot`
// (the row's position within the workgroup's WEIGHT_ROWS; ignored per layer).
float decode_weight(uint word, uint index_in_word, uint row_slot) {
  if (BITS == 0u) return uintBitsToFloat(word);
  const uint idx = bitfieldExtract(word, int(index_in_word * BITS), int(BITS));
  return s_codebook[(PER_CHANNEL ? row_slot : 0u) * CB_CAPACITY + idx];
}

// Weight `e` of output row `row`, read from the packed buffer and decoded: one whole
// word load, then bitfieldExtract. For kernels that decode a tile of weights once per
// workgroup (conv3x3_tiled) rather than streaming words through registers.
float fetch_weight(uint row, uint e, uint row_slot, uint words_per_row) {
  if (BITS == 0u) return uintBitsToFloat(weight_words[row * words_per_row + e]);
  const uint per_word = 32u / BITS;
  const uint q = e / per_word;
  return decode_weight(weight_words[row * words_per_row + q], e - q * per_word, row_slot);
}

#endif  // REPVK_COMMON_WEIGHTS_GLSL
