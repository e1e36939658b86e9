// SPDX-License-Identifier: MIT
// Every row of the generated variant tables (shaders/variants.h) runs once against the
// CPU reference, including the blocks only GPU tile choices or tile overrides pick: each
// row's op is steered to it (tile overrides, the igemm block, split-K, fp16 math, the fc
// batch), the test checks that the op's pipeline is that row's shader, then compares
// its output. test_shader_variants.cpp checks the tables and the choosers without a
// device; this is the numeric half. A row this device cannot run (an _sg8 variant where
// the subgroup is not 8 lanes, fp16 without the feature) is named in the output.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "fp16_bounds.h"
#include "gpu_fixture.h"
#include "ops/conv3x3.h"
#include "ops/conv3x3_igemm.h"
#include "ops/fully_connected.h"
#include "repvk/cpu_reference.h"
#include "shaders/variants.h"
#include "test_ops_util.h"

namespace repvk {
namespace {

using test::GpuTest;

// 9x9 planes of 12 input and 16 output channels, batch 2: wider than every block (so no
// block is narrowed to the plane or to Cout), several workgroups, and 12 channels give
// split-K two slices of 6 channels at 4 bits (index chunks of 3 channels).
constexpr test::ConvDims kDims{2, 12, 9, 9, 16, 1};

// Why `row` cannot run here, or "".
std::string unrunnable(Device& device, const VariantTable& table, const ShaderVariant& row) {
  const std::string kernel = table.kernel;
  if (row.fp16 && !device.enabled().storage_16bit) return "no storageBuffer16BitAccess";
  if (kernel == "conv3x3_igemm_fp16math" && !device.enabled().float16) return "no shaderFloat16";
  if (row.subgroup) {
    const DeviceFeatures& f = device.info().features;  // what the tile chooser reads
    if (device.info().type != VK_PHYSICAL_DEVICE_TYPE_CPU)
      return "the _sg variants run only on CPU devices (fixed subgroup size)";
    if (f.subgroup_size != row.subgroup || !f.subgroup_ballot)
      return "subgroup size " + std::to_string(f.subgroup_size) + ", not " +
             std::to_string(row.subgroup) + " with ballot";
  }
  return {};
}

// The conv op that runs `row`, or null for a table that is not a conv.
std::unique_ptr<Conv3x3Op> make_conv_for(Device& device, const VariantTable& table,
                                         const ShaderVariant& row, const Layer& layer) {
  const std::string kernel = table.kernel;
  Conv3x3Args args{device, VK_NULL_HANDLE, layer, TensorShape{kDims.cin, kDims.h, kDims.w},
                   row.fp16, kDims.n};
  if (kernel == "conv3x3") return make_conv3x3_op(args, ConvAlgorithm::Direct);
  if (kernel == "conv3x3_tiled") {
    args.tuning.tile = {row.px, row.oc, 64, 8};
    args.tuning.subgroup_broadcast = row.subgroup != 0;
    return make_conv3x3_op(args, ConvAlgorithm::Tiled);
  }
  if (kernel == "conv3x3_texel") {
    args.tuning.tile = {row.px, row.oc, 64, 0};
    return make_conv3x3_op(args, ConvAlgorithm::Texel);
  }
  if (kernel == "conv3x3_igemm" || kernel == "conv3x3_igemm_fp16math")
    args.math_fp16 = kernel == "conv3x3_igemm_fp16math";
  else if (kernel == "conv3x3_splitk_reduce")
    args.tuning.igemm_split_k = 2;
  else
    return nullptr;
  // The reduction runs after the 8x8 GEMM; the GEMMs run their row's block.
  return std::make_unique<Conv3x3IgemmOp>(args, row.px ? row.px : 8);
}

// The shader a conv op runs for `table`: the reduction's for split-K, else its own.
std::string shader_of(const Conv3x3Op& op, const VariantTable& table) {
  if (std::string(table.kernel) == "conv3x3_splitk_reduce") {
    const auto* igemm = dynamic_cast<const Conv3x3IgemmOp*>(&op);
    if (!igemm || !igemm->reduce_pipeline() || igemm->split_k(kDims.n) < 2) return "(no split)";
    return igemm->reduce_pipeline()->shader_name();
  }
  return op.pipeline().shader_name();
}

void run_conv_row(Device& device, std::mt19937_64& rng, const VariantTable& table,
                  const ShaderVariant& row) {
  const std::string what = std::string(row.name) + "; " + test::seed_note();
  const Layer layer = test::random_layer(rng, LayerType::Conv3x3, kDims.cin, kDims.cout,
                                         kDims.stride, true, 4,
                                         CodebookGranularity::PerOutputChannel);
  std::vector<float> input =
      test::random_floats(rng, size_t(kDims.n) * kDims.cin * kDims.h * kDims.w, 1.0f);
  if (row.fp16) input = test::round_to_half(input);
  const std::unique_ptr<Conv3x3Op> op = make_conv_for(device, table, row, layer);
  ASSERT_NE(op, nullptr) << what << ": no op for this table";
  ASSERT_EQ(shader_of(*op, table), row.name) << "could not steer the op to " << what;

  const TensorShape out = op->output_shape();
  std::vector<float> ref(size_t(kDims.n) * out.elements());
  const std::vector<float> dense = decode_weights(layer);
  cpu::conv3x3(input.data(), kDims.n, kDims.cin, kDims.h, kDims.w, dense.data(),
               layer.bias.data(), kDims.cout, kDims.stride, true, ref.data());
  const test::OpRun run = test::run_op(device, *op, input, row.fp16, ref.size(), row.fp16, kDims.n);
  EXPECT_TRUE(run.guard_intact) << what << ": wrote past the end of the output";

  if (std::string(table.kernel) == "conv3x3_igemm_fp16math") {
    const std::vector<float> s = test::conv_sum_abs(input, kDims.n, kDims.cin, kDims.h, kDims.w,
                                                    dense, kDims.cout, kDims.stride);
    double max_a = 0, max_w = 0;
    for (float v : input) max_a = std::max(max_a, double(std::fabs(v)));
    for (float v : dense) max_w = std::max(max_w, double(std::fabs(v)));
    size_t bad = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      const double b = layer.bias[(i / (out.h * out.w)) % kDims.cout];
      const double bound =
          test::fp16_math_bound(s[i], kDims.cin, max_a, max_w, b, ref[i], row.fp16);
      if (!(std::fabs(double(run.output[i]) - ref[i]) <= bound)) ++bad;
    }
    EXPECT_EQ(bad, 0u) << what << ": outputs over the fp16-arithmetic bound";
  } else if (row.fp16) {
    test::expect_fp16_store(kDims, input, dense, layer.bias, run.output, ref,
                            table.kernel == std::string("conv3x3_splitk_reduce") ? 2 : 0, what);
  } else {
    const test::Comparison c = test::compare(run.output, ref, 1e-4);
    EXPECT_EQ(c.bad, 0u) << what << "; max rel err " << c.max_rel << " at " << c.worst << " (gpu "
                         << run.output[c.worst] << ", ref " << ref[c.worst] << ")";
  }
}

// fully_connected_texel: one image per invocation for a batch of one, two otherwise.
void run_fc_texel_row(Device& device, std::mt19937_64& rng, const ShaderVariant& row) {
  const std::string what = std::string(row.name) + "; " + test::seed_note();
  const uint32_t in = 37, outs = 22, n = row.imgs == 1 ? 1 : 3;
  const Layer layer = test::random_layer(rng, LayerType::FullyConnected, in, outs, 1, false, 4,
                                         CodebookGranularity::PerLayer);
  FullyConnectedOp op(device, VK_NULL_HANDLE, layer, TensorShape{in, 1, 1}, false, true, n);
  ASSERT_EQ(op.pipeline().shader_name(), row.name) << "could not steer the op to " << what;
  const std::vector<float> input = test::random_floats(rng, size_t(n) * in, 1.0f);
  std::vector<float> ref(size_t(n) * outs);
  const std::vector<float> dense = decode_weights(layer);
  cpu::fully_connected(input.data(), n, in, dense.data(), layer.bias.data(), outs, false,
                       ref.data());
  const test::OpRun run = test::run_op(device, op, input, false, ref.size(), false, n);
  const test::Comparison c = test::compare(run.output, ref, 1e-4);
  EXPECT_EQ(c.bad, 0u) << what << "; max rel err " << c.max_rel;
  EXPECT_TRUE(run.guard_intact) << what << ": wrote past the end of the output";
}

class ShaderVariantRunTest : public GpuTest, public ::testing::WithParamInterface<size_t> {};

TEST_P(ShaderVariantRunTest, EveryRowMatchesCpuReference) {
  const VariantTable& table = variants::kAll[GetParam()];
  std::mt19937_64 rng(test::test_seed() * 31u + GetParam());
  size_t ran = 0;
  for (const ShaderVariant& row : table) {
    if (const std::string why = unrunnable(device(), table, row); !why.empty()) {
      std::printf("not run on %s: %s (%s)\n", device().info().name.c_str(), row.name, why.c_str());
      continue;
    }
    SCOPED_TRACE(row.name);
    if (std::string(table.kernel) == "fully_connected_texel") run_fc_texel_row(device(), rng, row);
    else run_conv_row(device(), rng, table, row);
    ++ran;
  }
  if (ran == 0)
    GTEST_SKIP() << "no row of " << table.kernel << " can run on " << device().info().name;
  std::printf("%s: %zu of %zu rows ran against the CPU reference\n", table.kernel, ran,
              size_t(table.count));
}

std::string table_name(const ::testing::TestParamInfo<size_t>& info) {
  return variants::kAll[info.param].kernel;
}

INSTANTIATE_TEST_SUITE_P(Tables, ShaderVariantRunTest,
                         ::testing::Range(size_t(0), std::size(variants::kAll)), table_name);

}  // namespace
}  // namespace repvk
