// Every conv3x3 shader variant the tile choosers can ask for is compiled into the
// build (shaders/CMakeLists.txt). Runs the choosers over device classes, limits, layer
// shapes, batches, weight formats and NetworkOptions::conv_tile overrides (what
// $REPVK_CONV_TILE sets), with and without subgroup broadcast; needs no device.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "ops/conv3x3_tuning.h"
#include "runtime/shader_registry.h"

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
  std::set<std::string> missing, seen;
  for_each_case([&](const PhysicalDeviceInfo& info, const TensorShape& out, uint32_t batch,
                    uint32_t bits, const ConvTuningOverride& tuning) {
    for (bool per_channel : {false, true}) {
      ops::LayerWeights weights;
      weights.bits = bits;
      weights.per_channel = per_channel;
      const TiledConvConfig c = choose_tiled_config(info, out, 64, batch, weights, tuning);
      for (bool fp16 : {false, true}) {
        const std::string name = tiled_shader_name(c, fp16);
        seen.insert(name);
        if (find_shader(name) == nullptr) missing.insert(name);
      }
    }
  });
  EXPECT_TRUE(missing.empty()) << "not compiled: " << *missing.begin();
  // The sweep reaches every block the table and its fit can produce.
  EXPECT_GE(seen.size(), 10u);
}

TEST(ShaderVariants, EveryTexelChoiceIsCompiled) {
  std::set<std::string> missing, seen;
  for_each_case([&](const PhysicalDeviceInfo& info, const TensorShape& out, uint32_t batch,
                    uint32_t, const ConvTuningOverride& tuning) {
    const TexelConvConfig c = choose_texel_config(info, out, batch, tuning);
    for (bool fp16 : {false, true}) {
      const std::string name = texel_shader_name(c, fp16);
      seen.insert(name);
      if (find_shader(name) == nullptr) missing.insert(name);
    }
  });
  EXPECT_TRUE(missing.empty()) << "not compiled: " << *missing.begin();
  EXPECT_EQ(seen.size(), 8u);  // 4x8, 4x16, 8x8, 8x16 in f32 and f16
}

}  // namespace
}  // namespace repvk
