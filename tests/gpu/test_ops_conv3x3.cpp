// SPDX-License-Identifier: MIT
// conv3x3 ops (make_conv3x3_op) vs the CPU reference, for every kernel (Direct, the
// baseline, Tiled and Texel):
// every bit width (and dense fp32), both codebook granularities, fp32 and fp16
// activations, random shapes with fresh data each run.
#include <gtest/gtest.h>

#include <sstream>

#include "gpu_fixture.h"
#include "ops/conv3x3.h"
#include "repvk/cpu_reference.h"
#include "repvk/error.h"
#include "fp16_bounds.h"
#include "test_ops_util.h"

namespace repvk {
namespace {

using test::GpuTest;

// fp16 storage is checked against a bound derived per element (fp16_bounds.h).
constexpr double kTolFp32 = 1e-4;

struct ConvShape {
  uint32_t n, cin, h, w, cout, stride;
  bool relu;
  uint64_t macs() const {
    const uint64_t oh = (h - 1) / stride + 1, ow = (w - 1) / stride + 1;
    return uint64_t(n) * cout * oh * ow * cin * 9;
  }
};

std::string describe(const ConvShape& s, uint32_t bits, CodebookGranularity g, bool fp16,
                     ConvAlgorithm algo) {
  std::ostringstream o;
  o << conv_algorithm_name(algo) << " n=" << s.n << " cin=" << s.cin << " " << s.h << "x" << s.w << " cout=" << s.cout
    << " stride=" << s.stride << (s.relu ? " relu" : "") << " bits=" << bits
    << (bits ? (g == CodebookGranularity::PerOutputChannel ? " per-channel" : " per-layer") : "")
    << (fp16 ? " fp16" : " fp32");
  return o.str();
}

// Random shape under a multiply-accumulate budget: usually modest (lavapipe is slow
// and the CPU reference runs in double), one draw in six allowed to be large.
// Planes are square three times in four, like real classifier inputs.
ConvShape random_shape(std::mt19937_64& rng) {
  const uint64_t budget = (rng() % 6 == 0) ? 30'000'000 : 3'000'000;
  for (;;) {
    ConvShape s;
    s.n = test::log_uniform_u32(rng, 1, 8);
    s.cin = test::log_uniform_u32(rng, 1, 256);
    s.cout = test::log_uniform_u32(rng, 1, 256);
    s.h = test::log_uniform_u32(rng, 1, 64);
    s.w = rng() % 4 ? s.h : test::log_uniform_u32(rng, 1, 64);
    s.stride = test::uniform_u32(rng, 1, 2);
    s.relu = rng() % 2 == 0;
    if (s.macs() <= budget) return s;
  }
}

void check_conv(Device& device, std::mt19937_64& rng, const ConvShape& s, uint32_t bits,
                CodebookGranularity g, bool fp16, ConvAlgorithm algo) {
  const std::string what = describe(s, bits, g, fp16, algo) + "; " + test::seed_note();
  const Layer layer =
      test::random_layer(rng, LayerType::Conv3x3, s.cin, s.cout, s.stride, s.relu, bits, g);
  std::vector<float> input = test::random_floats(rng, size_t(s.n) * s.cin * s.h * s.w, 1.0f);
  // The f16 kernel sees half inputs; the fair reference starts from the same values.
  if (fp16) input = test::round_to_half(input);

  // batch_hint = n: the tiled kernel sizes its workgroup from it, so this covers
  // workgroups smaller than a subgroup as well as full ones.
  const std::unique_ptr<Conv3x3Op> made =
      make_conv3x3_op({device, VK_NULL_HANDLE, layer, TensorShape{s.cin, s.h, s.w}, fp16, s.n}, algo);
  Conv3x3Op& op = *made;
  EXPECT_EQ(op.algorithm(), algo);
  const TensorShape out = op.output_shape();
  std::vector<float> ref(size_t(s.n) * out.elements());
  const std::vector<float> dense = decode_weights(layer);
  cpu::conv3x3(input.data(), s.n, s.cin, s.h, s.w, dense.data(), layer.bias.data(), s.cout,
               s.stride, s.relu, ref.data());

  const test::OpRun run = test::run_op(device, op, input, fp16, ref.size(), fp16, s.n);
  const std::string tiles = "\n  tiles: " + std::to_string(op.workgroup_size()) + " wg x " +
                            std::to_string(op.pixel_block()) + " px x " +
                            std::to_string(op.channel_block()) + " ch" +
                            (op.tile_details().empty() ? "" : " (" + op.tile_details() + ")");
  if (fp16) {
    test::expect_fp16_store({s.n, s.cin, s.h, s.w, s.cout, s.stride}, input, dense, layer.bias,
                            run.output, ref, 0, what + tiles);
  } else {
    const test::Comparison c = test::compare(run.output, ref, kTolFp32);
    EXPECT_EQ(c.bad, 0u) << what << tiles << "; max rel err " << c.max_rel << " at " << c.worst
                         << " (gpu " << run.output[c.worst] << ", ref " << ref[c.worst] << ")";
  }
  EXPECT_TRUE(run.guard_intact) << what << ": wrote past the end of the output";
}

// One test per (kernel, bit width, activation precision); both codebook granularities
// run inside it. Each GpuTest creates a device, whose first dispatch costs lavapipe
// most of a second, so fewer, fuller tests keep the suite fast.
struct ConvParam {
  ConvAlgorithm algo;
  uint32_t bits;  // 0 = dense fp32 weights
  bool fp16;
};

void PrintTo(const ConvParam& p, std::ostream* os) {
  *os << conv_algorithm_name(p.algo) << " bits=" << p.bits << (p.fp16 ? " fp16" : " fp32");
}

std::string param_name(const ::testing::TestParamInfo<ConvParam>& info) {
  const ConvParam& p = info.param;
  return std::string(conv_algorithm_name(p.algo)) + "_" +
         (p.bits == 0 ? std::string("dense") : "q" + std::to_string(p.bits)) +
         (p.fp16 ? "_f16" : "_f32");
}

std::vector<ConvParam> all_params() {
  std::vector<ConvParam> v;
  for (ConvAlgorithm algo : {ConvAlgorithm::Direct, ConvAlgorithm::Tiled, ConvAlgorithm::Texel})
    for (bool fp16 : {false, true})
      for (uint32_t bits = 0; bits <= 8; ++bits) v.push_back({algo, bits, fp16});
  return v;
}

class Conv3x3OpTest : public GpuTest, public ::testing::WithParamInterface<ConvParam> {};

TEST_P(Conv3x3OpTest, RandomShapesMatchCpuReference) {
  const ConvParam& p = GetParam();
  if (p.fp16 && !device().enabled().storage_16bit)
    GTEST_SKIP() << device().info().name << " lacks storageBuffer16BitAccess: fp16 conv untested";
  const bool direct = p.algo == ConvAlgorithm::Direct;
  std::mt19937_64 r(test::test_seed() * 1000003u + p.bits * 8 + (p.fp16 ? 2 : 0) +
                    (direct ? 1 : 0) + (p.algo == ConvAlgorithm::Texel ? 4 : 0));
  // One shape per granularity and kernel (two before there were two kernels): lavapipe
  // spends about a second compiling each tiled pipeline, and every shape is a pipeline.
  const int shapes = 1;
  if (p.bits == 0) {
    for (int i = 0; i < shapes + 1; ++i)
      check_conv(device(), r, random_shape(r), 0, CodebookGranularity::PerLayer, p.fp16, p.algo);
    return;
  }
  for (auto g : {CodebookGranularity::PerLayer, CodebookGranularity::PerOutputChannel})
    for (int i = 0; i < shapes; ++i)
      check_conv(device(), r, random_shape(r), p.bits, g, p.fp16, p.algo);
}

INSTANTIATE_TEST_SUITE_P(Variants, Conv3x3OpTest, ::testing::ValuesIn(all_params()), param_name);

// 1x1 planes, odd sizes under stride 2, single rows/columns, channel counts that are
// neither multiples of the 4-channel tile nor of an index word, a plane spanning
// several 64-pixel workgroups with a partial last one. Each shape gets a different
// weight format so the whole list stays cheap (one pipeline per shape).
// The tiled kernel adds its own edges: widths that are not a multiple of its pixel
// block (5, 7, 9), Cout around its 4/8/16-channel blocks (3, 9, 17), Cin across its
// 16-channel weight chunks (17, 33), and batches whose pixel blocks leave the last
// workgroup (or a whole subgroup) partly empty.
void check_edge_shapes(Device& device, bool fp16, ConvAlgorithm algo) {
  std::mt19937_64 r(test::test_seed() * 7919u + (fp16 ? 1 : 0) +
                    (algo == ConvAlgorithm::Direct ? 2 : 0) + (algo == ConvAlgorithm::Texel ? 4 : 0));
  const ConvShape shapes[] = {
      {1, 1, 1, 1, 1, 1, false},  {2, 3, 1, 1, 5, 2, true},   {1, 5, 2, 3, 7, 2, false},
      {3, 7, 1, 17, 2, 1, true},  {1, 13, 9, 1, 6, 2, false}, {1, 2, 11, 13, 9, 1, true},
      {2, 33, 5, 7, 3, 2, false}, {1, 1, 65, 3, 1, 1, false}, {1, 4, 8, 8, 4, 2, true},
      {3, 17, 7, 7, 17, 1, true}, {5, 16, 4, 4, 16, 1, false}, {2, 9, 9, 5, 33, 2, true},
      {1, 3, 3, 130, 8, 1, false},
  };
  uint32_t i = 0;
  for (const ConvShape& s : shapes) {
    const uint32_t bits = (i * 5) % 9;  // 0, 5, 1, 6, 2, 7, 3, 8, 4, 0, ...
    const auto g = i % 2 ? CodebookGranularity::PerOutputChannel : CodebookGranularity::PerLayer;
    check_conv(device, r, s, bits, g, fp16, algo);
    ++i;
  }
}

TEST_F(GpuTest, Conv3x3EdgeShapesFp32) {
  check_edge_shapes(device(), false, ConvAlgorithm::Direct);
  check_edge_shapes(device(), false, ConvAlgorithm::Tiled);
  check_edge_shapes(device(), false, ConvAlgorithm::Texel);
}

TEST_F(GpuTest, Conv3x3EdgeShapesFp16) {
  if (!device().enabled().storage_16bit)
    GTEST_SKIP() << device().info().name << " lacks storageBuffer16BitAccess: fp16 conv untested";
  check_edge_shapes(device(), true, ConvAlgorithm::Direct);
  check_edge_shapes(device(), true, ConvAlgorithm::Tiled);
  check_edge_shapes(device(), true, ConvAlgorithm::Texel);
}

// Auto (and an explicit Texel) picks Texel where the layer fits the device's texel
// buffers, and falls back to Tiled where it does not.
TEST_F(GpuTest, Conv3x3TexelWhereItFits) {
  std::mt19937_64 rng(test::test_seed());
  const Layer layer =
      test::random_layer(rng, LayerType::Conv3x3, 8, 16, 1, true, 4, CodebookGranularity::PerLayer);
  const auto op = make_conv3x3_op({device(), VK_NULL_HANDLE, layer, TensorShape{8, 9, 10}, false},
                                  ConvAlgorithm::Texel);
  EXPECT_EQ(op->algorithm(), ConvAlgorithm::Texel);
  EXPECT_EQ(op->channel_block() % 4, 0u);
  EXPECT_NE(op->name().find("texel"), std::string::npos) << op->name();
  // A batch whose input exceeds maxTexelBufferElements cannot be viewed: Tiled.
  const Layer wide =
      test::random_layer(rng, LayerType::Conv3x3, 64, 8, 1, true, 2, CodebookGranularity::PerLayer);
  const TensorShape big_in{64, 64, 64};
  const uint64_t too_many = device().info().limits.max_texel_buffer_elements / big_in.elements() + 1;
  ASSERT_LE(too_many, 65535u) << "maxTexelBufferElements is too large to provoke the fallback";
  const auto big = make_conv3x3_op(
      {device(), VK_NULL_HANDLE, wide, big_in, false, uint32_t(too_many)}, ConvAlgorithm::Texel);
  EXPECT_EQ(big->algorithm(), ConvAlgorithm::Tiled);
}

TEST_F(GpuTest, Conv3x3DescribesItself) {
  std::mt19937_64 rng(test::test_seed());
  const Layer layer = test::random_layer(rng, LayerType::Conv3x3, 8, 16, 2, true, 4,
                                         CodebookGranularity::PerOutputChannel);
  for (ConvAlgorithm algo : {ConvAlgorithm::Auto, ConvAlgorithm::Direct, ConvAlgorithm::Tiled,
                             ConvAlgorithm::Texel}) {
    const auto op = make_conv3x3_op({device(), VK_NULL_HANDLE, layer, TensorShape{8, 9, 10}, false}, algo);
    EXPECT_EQ(op->output_shape().c, 16u);
    EXPECT_EQ(op->output_shape().h, 5u);
    EXPECT_EQ(op->output_shape().w, 5u);
    EXPECT_EQ(op->flops(3), 2ull * 3 * 16 * 5 * 5 * 8 * 9);
    EXPECT_NE(op->name().find("conv3x3 8->16 s2 9x10 q4/channel relu f32 " +
                              std::string(conv_algorithm_name(op->algorithm()))),
              std::string::npos) << op->name();
    EXPECT_LE(op->channel_block() * 16u * 4u, device().info().limits.max_shared_memory);
    EXPECT_GE(op->workgroup_size(), 1u);
    EXPECT_GE(op->pixel_block(), 1u);
    if (algo == ConvAlgorithm::Auto)
      EXPECT_EQ(op->algorithm(), default_conv_algorithm(device().info()));
    else
      EXPECT_EQ(op->algorithm(), algo);
  }
}

TEST_F(GpuTest, Conv3x3RejectsMismatchedInput) {
  std::mt19937_64 rng(test::test_seed());
  const Layer layer =
      test::random_layer(rng, LayerType::Conv3x3, 8, 4, 1, false, 0, CodebookGranularity::PerLayer);
  for (ConvAlgorithm algo : {ConvAlgorithm::Direct, ConvAlgorithm::Tiled, ConvAlgorithm::Texel})
    EXPECT_THROW(make_conv3x3_op({device(), VK_NULL_HANDLE, layer, TensorShape{7, 4, 4}, false}, algo),
                 Error) << conv_algorithm_name(algo);
}

TEST_F(GpuTest, Conv3x3BatchAboveDispatchLimitThrows) {
  std::mt19937_64 rng(test::test_seed());
  const Layer layer =
      test::random_layer(rng, LayerType::Conv3x3, 2, 2, 1, false, 2, CodebookGranularity::PerLayer);
  // Only the direct kernel puts the batch on z; the tiled one folds it into x.
  const auto made = make_conv3x3_op({device(), VK_NULL_HANDLE, layer, TensorShape{2, 4, 4}, false},
                                    ConvAlgorithm::Direct);
  Conv3x3Op& op = *made;
  Buffer in(device(), 1024, MemoryUsage::DeviceLocal),
      out(device(), 1024, MemoryUsage::DeviceLocal);
  DescriptorArena arena(device(), 1, 5);
  op.bind(arena, in.handle(), out.handle());
  const uint64_t limit = device().info().limits.max_workgroup_count[2];
  if (limit >= UINT32_MAX) GTEST_SKIP() << "no representable batch exceeds the z limit";
  try {
    op.record(VK_NULL_HANDLE, uint32_t(limit + 1));  // throws before touching the command buffer
    FAIL() << "expected repvk::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("maxComputeWorkGroupCount"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace repvk
