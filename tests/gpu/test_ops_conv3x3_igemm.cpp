// SPDX-License-Identifier: MIT
// The implicit-GEMM conv3x3 (Conv3x3IgemmOp, the GPU default) vs the CPU reference on
// fresh random data, outputs poisoned first: bits 0-8, per layer and per channel, fp32
// and fp16 activations, both register blocks (8x8 and 4x4), every shared-memory choice
// (double or single tile buffer, codebooks staged or read from memory), and shapes at
// the edges of its tiles: Cin/Cout not multiples of the tile, 1x1 planes, batch 1 and
// 17, Cin = 1 and 3, stride 1 and 2, Cin around the 128-bit index chunks. CI runs the
// gpu label at lavapipe subgroup sizes 4, 8 and 16; nothing in the kernel depends on
// the subgroup size.
#include <gtest/gtest.h>

#include <sstream>

#include "gpu_fixture.h"
#include "ops/conv3x3_igemm.h"
#include "ops/igemm_index_chunks.h"
#include "repvk/cpu_reference.h"
#include "runtime/shader_registry.h"
#include "fp16_bounds.h"
#include "test_ops_util.h"

namespace repvk {
namespace {

using test::GpuTest;

struct Shape {
  uint32_t n, cin, h, w, cout, stride;
  bool relu;
};

// Edge shapes, cycled over the test cases so that each meets several weight formats.
// Tiles are 128 pixels x 64 channels (8x8) and 64 x 16 (4x4).
constexpr Shape kEdges[] = {
    {1, 1, 1, 1, 1, 1, false},     // everything 1: one partial tile of one pixel
    {17, 3, 5, 5, 7, 2, true},     // batch 17, Cin 3, stride 2, odd plane
    {1, 3, 9, 9, 65, 1, false},    // Cout one past a tile
    {17, 1, 3, 4, 5, 1, true},     // Cin 1, batch 17 across tiles
    {2, 48, 7, 7, 70, 2, true},    // A0-like channels, stride 2, 4x4 outputs
    {1, 5, 1, 1, 130, 2, false},   // 1x1 plane, three channel tiles
    {3, 17, 6, 11, 64, 1, true},   // non-square, Cout exactly one tile
    {1, 130, 3, 3, 9, 1, false},   // long K
    {17, 8, 1, 1, 16, 1, true},    // 1x1 planes, batch 17
    {2, 6, 20, 20, 33, 1, false},  // several pixel tiles, partial last one
};

Shape random_shape(std::mt19937_64& rng) {
  for (;;) {
    Shape s;
    s.n = test::uniform_u32(rng, 1, 3) == 3 ? 17 : test::log_uniform_u32(rng, 1, 4);
    s.cin = test::log_uniform_u32(rng, 1, 96);
    s.cout = test::log_uniform_u32(rng, 1, 160);
    s.h = test::log_uniform_u32(rng, 1, 24);
    s.w = rng() % 4 ? s.h : test::log_uniform_u32(rng, 1, 24);
    s.stride = test::uniform_u32(rng, 1, 2);
    s.relu = rng() % 2 == 0;
    const uint64_t oh = (s.h - 1) / s.stride + 1, ow = (s.w - 1) / s.stride + 1;
    if (uint64_t(s.n) * oh * ow * s.cout * s.cin * 9 <= 2'000'000) return s;
  }
}

void check(Device& device, std::mt19937_64& rng, const Shape& s, uint32_t bits,
           CodebookGranularity g, bool fp16, uint32_t block) {
  std::ostringstream what;
  what << "igemm block " << block << " n=" << s.n << " cin=" << s.cin << " " << s.h << "x"
       << s.w << " cout=" << s.cout << " stride=" << s.stride << (s.relu ? " relu" : "")
       << " bits=" << bits
       << (bits ? (g == CodebookGranularity::PerOutputChannel ? " per-channel" : " per-layer") : "")
       << (fp16 ? " fp16" : " fp32") << "; " << test::seed_note();
  const Layer layer =
      test::random_layer(rng, LayerType::Conv3x3, s.cin, s.cout, s.stride, s.relu, bits, g);
  std::vector<float> input = test::random_floats(rng, size_t(s.n) * s.cin * s.h * s.w, 1.0f);
  if (fp16) input = test::round_to_half(input);
  Conv3x3IgemmOp op(Conv3x3Args{device, VK_NULL_HANDLE, layer, TensorShape{s.cin, s.h, s.w}, fp16}, block);
  const IgemmConvConfig& c = op.config();
  what << " (tile " << c.tile_m() << "x" << c.tile_n()
       << (c.double_buffer ? ", double buffer" : ", single buffer")
       << (c.codebook_shared ? ", shared codebooks)" : ", codebooks from memory)");
  EXPECT_EQ(c.tm, block) << what.str();
  const TensorShape out = op.output_shape();
  std::vector<float> ref(size_t(s.n) * out.elements());
  const std::vector<float> dense = decode_weights(layer);
  cpu::conv3x3(input.data(), s.n, s.cin, s.h, s.w, dense.data(), layer.bias.data(), s.cout,
               s.stride, s.relu, ref.data());
  const test::OpRun run = test::run_op(device, op, input, fp16, ref.size(), fp16, s.n);
  if (fp16) {
    test::expect_fp16_store({s.n, s.cin, s.h, s.w, s.cout, s.stride}, input, dense, layer.bias,
                            run.output, ref, 0, what.str());
  } else {
    const test::Comparison cmp = test::compare(run.output, ref, 1e-4);
    EXPECT_EQ(cmp.bad, 0u) << what.str() << "; max rel err " << cmp.max_rel << " at " << cmp.worst
                           << " (gpu " << run.output[cmp.worst] << ", ref " << ref[cmp.worst] << ")";
  }
  EXPECT_TRUE(run.guard_intact) << what.str() << ": wrote past the end of the output";
}

struct IgemmParam {
  uint32_t bits;
  bool fp16;
};

std::string param_name(const ::testing::TestParamInfo<IgemmParam>& info) {
  return (info.param.bits == 0 ? std::string("dense") : "q" + std::to_string(info.param.bits)) +
         (info.param.fp16 ? "_f16" : "_f32");
}

std::vector<IgemmParam> all_params() {
  std::vector<IgemmParam> v;
  for (bool fp16 : {false, true})
    for (uint32_t bits = 0; bits <= 8; ++bits) v.push_back({bits, fp16});
  return v;
}

class Conv3x3IgemmTest : public GpuTest, public ::testing::WithParamInterface<IgemmParam> {};

// The 8x8 block (the desktop default). fp32: both granularities, one an edge shape and
// the other a random one; fp16 (which changes only the loads and stores) one granularity
// per bit width, alternating. lavapipe spends most of a second compiling each 8x8
// pipeline, and every check is a pipeline, so the checks are spread rather than repeated.
TEST_P(Conv3x3IgemmTest, MatchesCpuReference) {
  const IgemmParam& p = GetParam();
  if (p.fp16 && !device().enabled().storage_16bit)
    GTEST_SKIP() << device().info().name << " lacks storageBuffer16BitAccess: fp16 igemm untested";
  std::mt19937_64 r(test::test_seed() * 1000033u + p.bits * 2 + (p.fp16 ? 1 : 0));
  const size_t edges = sizeof(kEdges) / sizeof(kEdges[0]);
  const size_t e = (p.bits + (p.fp16 ? 5 : 0)) % edges;
  const bool edge_first = (p.bits + (p.fp16 ? 1 : 0)) % 2 == 0;
  if (p.bits == 0) {
    check(device(), r, edge_first ? kEdges[e] : random_shape(r), 0, CodebookGranularity::PerLayer,
          p.fp16, 8);
    return;
  }
  if (p.fp16) {
    const auto g = p.bits % 2 ? CodebookGranularity::PerOutputChannel : CodebookGranularity::PerLayer;
    check(device(), r, edge_first ? kEdges[e] : random_shape(r), p.bits, g, true, 8);
    return;
  }
  check(device(), r, edge_first ? kEdges[e] : random_shape(r), p.bits,
        CodebookGranularity::PerLayer, false, 8);
  check(device(), r, edge_first ? random_shape(r) : kEdges[e], p.bits,
        CodebookGranularity::PerOutputChannel, false, 8);
}

INSTANTIATE_TEST_SUITE_P(Variants, Conv3x3IgemmTest, ::testing::ValuesIn(all_params()), param_name);

// The 4x4 block (mobile GPUs): a spread of formats, including the per-channel 8-bit
// codebooks it reads from memory, over every edge shape.
TEST_F(GpuTest, Conv3x3IgemmSmallBlockMatchesCpuReference) {
  std::mt19937_64 r(test::test_seed() * 7717u);
  const uint32_t bits[] = {0, 4, 8, 2, 6, 1, 3, 5, 7, 8};
  size_t i = 0;
  for (const Shape& s : kEdges) {
    const auto g = i % 2 ? CodebookGranularity::PerOutputChannel : CodebookGranularity::PerLayer;
    bool fp16 = i % 3 == 2;
    if (fp16 && !device().enabled().storage_16bit) {
      test::skip_case("no storageBuffer16BitAccess: an fp16 case ran as fp32");
      fp16 = false;
    }
    check(device(), r, s, bits[i], g, fp16, 4);
    ++i;
  }
}

// Cin around the index chunks (R input channels per 128-bit chunk, R from 2 to 14 by
// width): 1, 3, R-1, R+1 and an odd count past two chunks, so that partial last chunks,
// a chunk boundary in the K loop and single-chunk layers all meet every index width,
// both granularities, both blocks and both precisions (cycled, one pipeline per check).
TEST_F(GpuTest, Conv3x3IgemmChunkEdgesMatchCpuReference) {
  std::mt19937_64 r(test::test_seed() * 6151u);
  uint32_t i = 0;
  for (uint32_t bits = 1; bits <= 8; ++bits) {
    const uint32_t chunk = igemm_index_chunks(bits).channels;
    const uint32_t cins[] = {1, 3, chunk - 1 ? chunk - 1 : 2, chunk + 1, (2 * chunk + 1) | 1};
    for (uint32_t cin : cins) {
      const auto g = i % 2 ? CodebookGranularity::PerOutputChannel : CodebookGranularity::PerLayer;
      const uint32_t block = (i / 2) % 2 ? 4 : 8;
      bool fp16 = (i / 4) % 2 == 1;
      if (fp16 && !device().enabled().storage_16bit) {
        test::skip_case("no storageBuffer16BitAccess: an fp16 case ran as fp32");
        fp16 = false;
      }
      const Shape s{1 + (i % 3) * 8, cin, 3 + i % 4, 5, i % 3 == 1 ? 70u : 3u, 1 + i % 2, i % 3 == 0};
      check(device(), r, s, bits, g, fp16, block);
      ++i;
    }
  }
}

// The shared-memory choices follow the formats: what the tests above rely on to cover
// all of them.
TEST_F(GpuTest, Conv3x3IgemmSharedMemoryChoices) {
  const PhysicalDeviceInfo& info = device().info();
  const IgemmConvConfig dense = choose_igemm_config(info, 0, false, 8);
  EXPECT_TRUE(dense.double_buffer && dense.codebook_shared);
  const IgemmConvConfig q4c = choose_igemm_config(info, 4, true, 8);
  EXPECT_TRUE(!q4c.double_buffer && q4c.codebook_shared);
  const IgemmConvConfig q8c = choose_igemm_config(info, 8, true, 8);
  EXPECT_TRUE(q8c.double_buffer && !q8c.codebook_shared);
  for (uint32_t b = 0; b <= 8; ++b)
    for (bool pc : {false, true})
      for (uint32_t block : {4u, 8u})
        EXPECT_LE(igemm_shared_bytes(choose_igemm_config(info, b, pc, block), b, pc), 16384u)
            << "bits " << b << " block " << block;
}

// Every block the chooser can pick, on any vendor and limits, is compiled into the
// build, and its shared memory stays within min(16 KiB, the device's limit).
TEST(Conv3x3IgemmVariants, EveryChoiceIsCompiled) {
  for (uint32_t vendor : {0x1002u, 0x10DEu, 0x8086u, 0x13B5u, 0x5143u})
    for (uint32_t max_wg : {128u, 256u, 1024u})
      for (uint32_t shared : {16384u, 32768u, 65536u})
        for (uint32_t bits = 0; bits <= 8; ++bits)
          for (bool pc : {false, true})
            for (uint32_t block : {0u, 4u, 8u}) {
              PhysicalDeviceInfo info;
              info.vendor_id = vendor;
              info.limits.max_shared_memory = shared;
              info.limits.max_workgroup_invocations = max_wg;
              info.limits.max_workgroup_size[0] = max_wg;
              const IgemmConvConfig c = choose_igemm_config(info, bits, pc, block);
              EXPECT_EQ(c.tm, c.gn) << "one tile pixel per invocation";
              EXPECT_LE(c.workgroup(), max_wg);
              EXPECT_LE(igemm_shared_bytes(c, bits, pc), 16384u);
              for (bool fp16 : {false, true})
                EXPECT_NE(find_shader(igemm_shader_name(c, fp16)), nullptr)
                    << igemm_shader_name(c, fp16);
            }
}

}  // namespace
}  // namespace repvk
