// SPDX-License-Identifier: MIT
// The generated variant tables (shaders/variants.h, from repvk_add_shader_variants()
// in shaders/CMakeLists.txt) match the embedded shaders, and every variant the conv
// tile choosers return is one of them at the precision asked for. Runs the choosers
// over device classes, limits, layer shapes, batches, weight formats and
// NetworkTuning::conv_tile overrides (what $REPVK_CONV_TILE sets), with and without
// subgroup broadcast; needs no device.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>

#include "ops/conv3x3_tuning.h"
#include "runtime/shader_registry.h"
#include "shaders/variants.h"

namespace repvk {
namespace {

PhysicalDeviceInfo device_info(VkPhysicalDeviceType type, uint32_t subgroup, bool ballot,
                               uint32_t shared, uint32_t max_wg) {
  PhysicalDeviceInfo info;
  info.type = type;
  info.features.subgroup_size = subgroup;
  info.features.subgroup_ballot = ballot;
  info.limits.max_shared_memory = shared;
  info.limits.max_workgroup_invocations = max_wg;
  info.limits.max_workgroup_size[0] = max_wg;
  return info;
}

// The table row names exactly what its shader was compiled with.
std::string expected_name(const VariantTable& t, const ShaderVariant& v) {
  std::string n = t.kernel;
  if (v.px) n += "_" + std::to_string(v.px) + "x" + std::to_string(v.oc);
  if (v.subgroup) n += "_sg" + std::to_string(v.subgroup);
  if (v.imgs) n += "_" + std::to_string(v.imgs);
  return n + (v.fp16 ? "_f16" : "_f32");
}

// The chooser's variant is a row of `table` at the precision asked for, with an
// embedded blob.
void expect_row(const VariantTable& table, const ShaderVariant* v, bool fp16,
                std::set<std::string>& seen) {
  ASSERT_NE(v, nullptr);
  EXPECT_GE(v, table.begin());
  EXPECT_LT(v, table.end());
  EXPECT_EQ(v->fp16, fp16) << v->name;
  EXPECT_NE(find_shader(v->name), nullptr) << v->name;
  seen.insert(v->name);
}

TEST(ShaderVariants, EveryTableRowIsEmbedded) {
  size_t rows = 0;
  for (const VariantTable& t : variants::kAll) {
    EXPECT_GT(t.count, 0u) << t.kernel;
    for (const ShaderVariant& v : t) {
      EXPECT_EQ(v.name, expected_name(t, v));
      EXPECT_NE(find_shader(v.name), nullptr) << v.name << " is in the table but not embedded";
      // Unique parameters: a lookup finds this row, not another.
      EXPECT_EQ(t.find(v.px, v.oc, v.subgroup, v.imgs, v.fp16), &v) << v.name;
      ++rows;
    }
  }
  // And the other way: every embedded shader of a tabled kernel is in its table.
  size_t count = 0;
  const ShaderBlob* blobs = all_shaders(&count);
  size_t tabled = 0;
  for (size_t i = 0; i < count; ++i)
    for (const VariantTable& t : variants::kAll)
      for (const ShaderVariant& v : t)
        if (std::strcmp(blobs[i].name, v.name) == 0) ++tabled;
  EXPECT_EQ(tabled, rows);
  EXPECT_EQ(variants::kConv3x3Tiled.count, 16u);  // 4x4 4x8 4x16 8x8, plain and sg8, f32 and f16
  EXPECT_EQ(variants::kConv3x3Texel.count, 8u);   // 4x8 4x16 8x8 8x16, f32 and f16
}

// Calls `check` for every combination the choosers see in practice and at the edges.
template <typename F>
void for_each_case(F check) {
  const ConvTileOverride tiles[] = {{},           {1, 1, 1, 1},     {2, 4, 32, 4},
                                     {4, 8, 64, 8}, {4, 16, 64, 16},  {8, 8, 64, 16},
                                     {8, 16, 128, 32}, {16, 32, 256, 64}, {3, 12, 7, 5}};
  for (const ConvTileOverride& tile : tiles)
    for (bool broadcast : {true, false})
      for (VkPhysicalDeviceType type : {VK_PHYSICAL_DEVICE_TYPE_CPU, VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU,
                                        VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU})
        for (uint32_t subgroup : {4u, 8u, 32u})
          for (bool ballot : {false, true})
            for (uint32_t shared : {4096u, 16384u, 32768u})
              for (uint32_t max_wg : {1u, 32u, 256u, 1024u})
                for (uint32_t c : {1u, 3u, 4u, 8u, 9u, 16u, 48u, 1280u})
                  for (uint32_t w : {1u, 4u, 5u, 7u, 28u})
                    for (uint32_t batch : {1u, 16u})
                      for (uint32_t bits : {0u, 1u, 8u})
                        check(device_info(type, subgroup, ballot, shared, max_wg),
                              TensorShape{c, w, w}, batch, bits,
                              ConvTuningOverride{tile, broadcast});
}

TEST(ShaderVariants, EveryTiledChoiceIsCompiled) {
  std::set<std::string> seen;
  for_each_case([&](const PhysicalDeviceInfo& info, const TensorShape& out, uint32_t batch,
                    uint32_t bits, const ConvTuningOverride& tuning) {
    for (bool per_channel : {false, true}) {
      ops::LayerWeights weights;
      weights.bits = bits;
      weights.per_channel = per_channel;
      for (bool fp16 : {false, true}) {
        const TiledConvConfig c = choose_tiled_config(info, out, 64, batch, weights, fp16, tuning);
        expect_row(variants::kConv3x3Tiled, c.variant, fp16, seen);
      }
    }
  });
  // The sweep reaches every block the table and its fit can produce.
  EXPECT_GE(seen.size(), 10u);
}

TEST(ShaderVariants, EveryTexelChoiceIsCompiled) {
  std::set<std::string> seen;
  for_each_case([&](const PhysicalDeviceInfo& info, const TensorShape& out, uint32_t batch,
                    uint32_t, const ConvTuningOverride& tuning) {
    for (bool fp16 : {false, true})
      expect_row(variants::kConv3x3Texel, choose_texel_config(info, out, batch, fp16, tuning).variant,
                 fp16, seen);
  });
  EXPECT_EQ(seen.size(), 8u);  // 4x8, 4x16, 8x8, 8x16 in f32 and f16
}

}  // namespace
}  // namespace repvk
