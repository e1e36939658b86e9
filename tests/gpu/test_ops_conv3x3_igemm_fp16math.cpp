// SPDX-License-Identifier: MIT
// conv3x3_igemm's fp16-arithmetic flavour (MATH_FP16) against the CPU reference, with
// an error bound derived from fp16 rounding (fp16_bounds.h), and the measurement that decides
// when Network uses it (measure_fp16_math(), NetworkOptions::fp16_math). Skipped with
// a message on a device without shaderFloat16; lavapipe has it (emulated).
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "gpu_fixture.h"
#include "ops/conv3x3_igemm.h"
#include "repvk/cpu_reference.h"
#include "repvk/network.h"
#include "repvk_internal/network_tuning.h"
#include "repvk/synthetic.h"
#include "fp16_bounds.h"
#include "runtime/shader_registry.h"
#include "test_ops_util.h"

namespace repvk {
namespace {

using test::GpuTest;

struct Shape {
  uint32_t n, cin, h, w, cout, stride;
  bool relu;
};

// Tiles are 128 pixels x 64 channels (8x8) and 64 x 16 (4x4).
constexpr Shape kShapes[] = {
    {1, 1, 1, 1, 1, 1, false},     // everything 1
    {17, 3, 5, 5, 7, 2, true},     // batch 17, Cin 3, stride 2
    {1, 3, 9, 9, 65, 1, false},    // Cout one past an 8x8 tile
    {17, 1, 3, 4, 5, 1, true},     // Cin 1, batch 17 across tiles
    {2, 37, 7, 7, 70, 2, true},    // odd Cin, A0-like widths, stride 2
    {3, 17, 6, 11, 19, 1, false},  // odd Cin, Cout past a 4x4 tile, non-square
    {1, 96, 4, 4, 9, 1, true},     // long K: the bound must not grow with Cin per stage
    {2, 6, 20, 20, 33, 1, false},  // several pixel tiles, partial last one
};

// Returns the largest error as a fraction of its bound (how tight the bound is).
double check(Device& device, std::mt19937_64& rng, const Shape& s, uint32_t bits,
             CodebookGranularity g, bool fp16, uint32_t block, uint32_t split_k = 0) {
  std::ostringstream what;
  what << "igemm fp16 math block " << block << " n=" << s.n << " cin=" << s.cin << " " << s.h
       << "x" << s.w << " cout=" << s.cout << " stride=" << s.stride << (s.relu ? " relu" : "")
       << " bits=" << bits
       << (bits ? (g == CodebookGranularity::PerOutputChannel ? " per-channel" : " per-layer") : "")
       << (fp16 ? " fp16" : " fp32") << " storage; " << test::seed_note();
  const Layer layer =
      test::random_layer(rng, LayerType::Conv3x3, s.cin, s.cout, s.stride, s.relu, bits, g);
  std::vector<float> input = test::random_floats(rng, size_t(s.n) * s.cin * s.h * s.w, 1.0f);
  if (fp16) input = test::round_to_half(input);
  Conv3x3Args args{device, VK_NULL_HANDLE, layer, TensorShape{s.cin, s.h, s.w}, fp16, s.n};
  args.math_fp16 = true;
  args.tuning.igemm_split_k = split_k;
  Conv3x3IgemmOp op(args, block);
  EXPECT_TRUE(op.config().math_fp16) << what.str();
  if (split_k) {
    EXPECT_GT(op.split_k(s.n), 1u) << what.str() << ": split-K asked";
  }
  EXPECT_EQ(op.config().tm, block) << what.str();
  what << " (" << op.tile_details() << ")";

  const TensorShape out = op.output_shape();
  const size_t count = size_t(s.n) * out.elements();
  std::vector<float> ref(count), sum_abs(count);
  const std::vector<float> dense = decode_weights(layer);
  cpu::conv3x3(input.data(), s.n, s.cin, s.h, s.w, dense.data(), layer.bias.data(), s.cout,
               s.stride, s.relu, ref.data());
  // S = sum |a||w| per output: the same conv on absolute values, no bias, no ReLU.
  std::vector<float> abs_in(input.size()), abs_w(dense.size()), zero_bias(s.cout, 0.0f);
  double max_a = 0, max_w = 0;
  for (size_t i = 0; i < input.size(); ++i) max_a = std::max(max_a, double(abs_in[i] = std::fabs(input[i])));
  for (size_t i = 0; i < dense.size(); ++i) max_w = std::max(max_w, double(abs_w[i] = std::fabs(dense[i])));
  cpu::conv3x3(abs_in.data(), s.n, s.cin, s.h, s.w, abs_w.data(), zero_bias.data(), s.cout,
               s.stride, false, sum_abs.data());

  const test::OpRun run = test::run_op(device, op, input, fp16, count, fp16, s.n);
  size_t bad = 0, worst = 0;
  double worst_ratio = 0;
  const size_t plane = out.h * out.w;
  for (size_t i = 0; i < count; ++i) {
    const uint32_t oc = uint32_t((i / plane) % s.cout);
    const double bound =
        test::fp16_math_bound(sum_abs[i], s.cin, max_a, max_w, layer.bias[oc], ref[i], fp16);
    const double err = std::fabs(double(run.output[i]) - double(ref[i]));
    const double ratio = std::isnan(err) ? INFINITY : err / bound;
    if (!(ratio <= 1.0)) ++bad;
    if (ratio > worst_ratio || i == 0) {
      worst_ratio = ratio;
      worst = i;
    }
  }
  EXPECT_EQ(bad, 0u) << what.str() << "; worst error " << worst_ratio << " x its bound at "
                     << worst << " (gpu " << run.output[worst] << ", ref " << ref[worst]
                     << ", sum|a||w| " << sum_abs[worst] << ")";
  EXPECT_TRUE(run.guard_intact) << what.str() << ": wrote past the end of the output";
  return worst_ratio;
}

bool skip_without_float16(Device& device) { return !device.enabled().float16; }

// Bits 0-8, each at both granularities (one for dense), over the shapes; the storage
// and the block alternate so that each meets several formats. Every check compiles one
// pipeline, which is what lavapipe spends its time on.
TEST_F(GpuTest, Conv3x3IgemmFp16MathMatchesCpuReference) {
  if (skip_without_float16(device()))
    GTEST_SKIP() << device().info().name << " has no shaderFloat16 enabled: fp16 math untested";
  const bool half_storage = device().enabled().storage_16bit;
  std::mt19937_64 r(test::test_seed() * 4099u + 16);
  const size_t shapes = sizeof(kShapes) / sizeof(kShapes[0]);
  size_t i = 0;
  double worst = 0;
  for (uint32_t bits = 0; bits <= 8; ++bits) {
    for (const auto g : {CodebookGranularity::PerLayer, CodebookGranularity::PerOutputChannel}) {
      if (bits == 0 && g == CodebookGranularity::PerOutputChannel) continue;
      bool fp16 = i % 3 == 1;
      if (fp16 && !half_storage) {
        test::skip_case("no storageBuffer16BitAccess: an fp16-storage case ran as fp32");
        fp16 = false;
      }
      const uint32_t block = i % 2 ? 4 : 8;
      worst = std::max(worst, check(device(), r, kShapes[i % shapes], bits, g, fp16, block));
      ++i;
    }
  }
  // Split-K with fp16 math: the slices' fp32 partials, then the reduction.
  worst = std::max(worst, check(device(), r, Shape{3, 20, 9, 7, 70, 1, true}, 4,
                                CodebookGranularity::PerOutputChannel, false, 8, 3));
  ++i;
  std::printf("fp16 math: largest error %.3f of its bound over %zu checks\n", worst, i);
  // And it really computes in fp16: fp32 arithmetic would stay near 2^-24 / (11 * 2^-11),
  // about 1e-4 of this bound (lavapipe measures 0.2-0.25 for fp16).
  EXPECT_GT(worst, 0.02) << "errors far below fp16 rounding: is the fp32 kernel running?";
}

// The variant needs shaderFloat16 on the device: without it the op refuses.
TEST(Conv3x3IgemmFp16Math, RefusesADeviceWithoutFloat16) {
  DeviceOptions o = options_from_environment().device;
  o.force_fp32 = true;
  std::unique_ptr<Device> d = Device::create(o);
  ASSERT_FALSE(d->enabled().float16);
  std::mt19937_64 r(1);
  const Layer l = test::random_layer(r, LayerType::Conv3x3, 3, 4, 1, false, 4,
                                     CodebookGranularity::PerLayer);
  Conv3x3Args args{*d, VK_NULL_HANDLE, l, TensorShape{3, 5, 5}, false};
  args.math_fp16 = true;
  EXPECT_THROW(Conv3x3IgemmOp op(args), Error);
}

// Every choice with fp16 math is compiled, and its halved tiles stay within 16 KiB.
TEST(Conv3x3IgemmFp16Math, EveryChoiceIsCompiled) {
  for (uint32_t vendor : {0x1002u, 0x10DEu, 0x13B5u})
    for (uint32_t bits = 0; bits <= 8; ++bits)
      for (bool pc : {false, true})
        for (uint32_t block : {0u, 4u, 8u}) {
          PhysicalDeviceInfo info;
          info.vendor_id = vendor;
          info.limits.max_shared_memory = 16384;
          info.limits.max_workgroup_invocations = 128;
          info.limits.max_workgroup_size[0] = 128;
          const IgemmConvConfig c = choose_igemm_config(info, bits, pc, block, true);
          ASSERT_TRUE(c.math_fp16);
          EXPECT_LE(igemm_shared_bytes(c, bits, pc), 16384u);
          // Never worse than fp32: the same or a better shared-memory choice.
          const IgemmConvConfig f = choose_igemm_config(info, bits, pc, block, false);
          EXPECT_GE(int(c.double_buffer) + 2 * int(c.codebook_shared),
                    int(f.double_buffer) + 2 * int(f.codebook_shared));
          for (bool fp16 : {false, true}) {
            const std::string name = igemm_shader_name(c, fp16);
            EXPECT_NE(find_shader(name), nullptr) << name;
            EXPECT_NE(name.find("fp16math"), std::string::npos) << name;
          }
        }
}

Model tiny_model() {
  SyntheticConfig c;
  c.in_channels = 1;
  c.height = c.width = 8;
  c.num_classes = 4;
  c.stage_depths = {1};
  c.stage_widths = {8};
  c.stage_strides = {1};
  return make_synthetic_model(c);
}

NetworkOptions igemm_options(Fp16Math math) {
  NetworkOptions n;
  tuning(n).conv_algorithm = ConvAlgorithm::Igemm;
  n.pipeline_cache_path = "none";
  n.fp16_math = math;
  return n;
}

// Auto measures once per Device, picks by the 5% rule, and the record is readable.
TEST_F(GpuTest, Fp16MathAutoMeasuresOnceAndFollowsTheRule) {
  if (skip_without_float16(device()))
    GTEST_SKIP() << device().info().name << " has no shaderFloat16 enabled: no measurement";
  EXPECT_FALSE(device().cached_fp16_math().has_value());
  const Model m = tiny_model();
  Network net(device(), m, igemm_options(Fp16Math::Auto));
  const std::optional<Fp16MathMeasurement> rec = device().cached_fp16_math();
  ASSERT_TRUE(rec.has_value()) << "an igemm network under auto must have measured";
  ASSERT_TRUE(rec->measured) << rec->reason;
  EXPECT_GT(rec->fp32_ms, 0.0);
  EXPECT_GT(rec->fp16_ms, 0.0);
  EXPECT_EQ(rec->repetitions, 7u);
  EXPECT_FALSE(rec->shape.empty());
  EXPECT_GT(rec->probe_ms, 0.0);
  EXPECT_EQ(rec->use_fp16, rec->fp16_ms <= 0.95 * rec->fp32_ms);
  EXPECT_EQ(net.fp16_math(), rec->use_fp16);
  std::printf("fp16 math probe on %s: %s, fp32 %.4f ms, fp16 %.4f ms (%s), probe %.0f ms -> %s\n",
              device().info().name.c_str(), rec->shape.c_str(), rec->fp32_ms, rec->fp16_ms,
              rec->gpu_timestamps ? "timestamps" : "host timing", rec->probe_ms,
              rec->use_fp16 ? "fp16" : "fp32");
  // Cached: a second network and a direct call see the very same record.
  Network again(device(), m, igemm_options(Fp16Math::Auto));
  const Fp16MathMeasurement direct = measure_fp16_math(device());
  EXPECT_EQ(direct.fp32_ms, rec->fp32_ms);
  EXPECT_EQ(direct.fp16_ms, rec->fp16_ms);
  EXPECT_EQ(again.fp16_math(), rec->use_fp16);
}

// on/off force the choice without measuring; a network without igemm never measures.
TEST_F(GpuTest, Fp16MathOnOffForceWithoutMeasuring) {
  if (skip_without_float16(device()))
    GTEST_SKIP() << device().info().name << " has no shaderFloat16 enabled: fp16 math untested";
  const Model m = tiny_model();
  Network on(device(), m, igemm_options(Fp16Math::On));
  EXPECT_TRUE(on.fp16_math());
  Network off(device(), m, igemm_options(Fp16Math::Off));
  EXPECT_FALSE(off.fp16_math());
  NetworkOptions texel = igemm_options(Fp16Math::Auto);
  tuning(texel).conv_algorithm = ConvAlgorithm::Texel;
  Network no_igemm(device(), m, texel);
  EXPECT_FALSE(no_igemm.fp16_math());
  EXPECT_FALSE(device().cached_fp16_math().has_value()) << "nothing here needed a measurement";
  // The forced variant computes the same network: its outputs agree with fp32's.
  const std::vector<float> x(on.input_size(), 0.5f);
  const std::vector<float> a = on.infer(x, 1), b = off.infer(x, 1);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 2e-2) << "class " << i;
}

// The no-fp16 device option (REPVK_FORCE_FP32) keeps fp16 math off: auto resolves to
// fp32 without measuring, on is an error naming the device.
TEST(Fp16MathNetwork, ForceFp32PreventsIt) {
  DeviceOptions o = options_from_environment().device;
  o.force_fp32 = true;
  std::unique_ptr<Device> d = Device::create(o);
  const Model m = tiny_model();
  {
    Network net(*d, m, igemm_options(Fp16Math::Auto));
    EXPECT_FALSE(net.fp16_math());
  }
  EXPECT_FALSE(d->cached_fp16_math().has_value());
  EXPECT_THROW({ Network on(*d, m, igemm_options(Fp16Math::On)); }, Error);
  const Fp16MathMeasurement r = measure_fp16_math(*d);
  EXPECT_FALSE(r.measured);
  EXPECT_FALSE(r.use_fp16);
  EXPECT_FALSE(r.reason.empty());
}

TEST(Fp16MathNames, ParseAndName) {
  for (Fp16Math m : {Fp16Math::Auto, Fp16Math::On, Fp16Math::Off})
    EXPECT_EQ(parse_fp16_math(fp16_math_name(m)), m);
  EXPECT_THROW(parse_fp16_math("yes"), Error);
}

}  // namespace
}  // namespace repvk
