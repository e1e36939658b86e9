// SPDX-License-Identifier: MIT
// The compiled variants of a kernel: what a generated table row says about one
// embedded shader, and constexpr lookups over a table. The tables themselves are
// generated (shaders/variants.h in the build tree) from the one list in
// shaders/CMakeLists.txt (repvk_add_shader_variants, cmake/EmbedSpirv.cmake), so the
// host, which picks variants only through these lookups, cannot ask for one the
// build did not compile; the tables are constexpr, so its fixed choices are checked
// by static_assert.
#pragma once

#include <cstddef>
#include <cstdint>

namespace repvk {

// One embedded shader variant and the compile-time parameters (defines) it was built
// with; 0 where the kernel has no such parameter.
struct ShaderVariant {
  const char* name;   // registry name (find_shader), e.g. "conv3x3_tiled_4x16_sg8_f32"
  uint32_t px;        // PX: output pixels of one row per invocation
  uint32_t oc;        // OC_BLOCK: output channels per invocation
  uint32_t subgroup;  // SG_BCAST: weights shared across subgroups of this size; 0 = not
  uint32_t imgs;      // IMGS: images per invocation
  bool fp16;          // ACT_FP16: half activation storage
};

// The variants of one kernel (one generated table).
struct VariantTable {
  const char* kernel;  // e.g. "conv3x3_tiled"
  const ShaderVariant* rows;
  size_t count;

  constexpr const ShaderVariant* begin() const { return rows; }
  constexpr const ShaderVariant* end() const { return rows + count; }

  // The variant with exactly these parameters; nullptr when it was not compiled.
  constexpr const ShaderVariant* find(uint32_t px, uint32_t oc, uint32_t subgroup, uint32_t imgs,
                                      bool fp16) const {
    for (const ShaderVariant& v : *this)
      if (v.px == px && v.oc == oc && v.subgroup == subgroup && v.imgs == imgs && v.fp16 == fp16)
        return &v;
    return nullptr;
  }
  // Whether that variant was compiled (for static_assert).
  constexpr bool has(uint32_t px, uint32_t oc, uint32_t subgroup, uint32_t imgs, bool fp16) const {
    for (const ShaderVariant& v : *this)
      if (v.px == px && v.oc == oc && v.subgroup == subgroup && v.imgs == imgs && v.fp16 == fp16)
        return true;
    return false;
  }
  constexpr bool has_block(uint32_t px, uint32_t oc, bool fp16) const {
    return has(px, oc, 0, 0, fp16);
  }
  constexpr bool has_plain(bool fp16) const { return has(0, 0, 0, 0, fp16); }
  // A register block (px x oc) without subgroup flavour.
  constexpr const ShaderVariant* block(uint32_t px, uint32_t oc, bool fp16) const {
    return find(px, oc, 0, 0, fp16);
  }
  // A kernel without defines besides the precision.
  constexpr const ShaderVariant* plain(bool fp16) const { return find(0, 0, 0, 0, fp16); }

  // Every variant also exists at the other precision: a choice made for one precision
  // is then valid for both. False for a table compiled at one precision only.
  constexpr bool both_precisions() const {
    for (const ShaderVariant& v : *this)
      if (!has(v.px, v.oc, v.subgroup, v.imgs, !v.fp16)) return false;
    return count > 0;
  }
};

}  // namespace repvk
