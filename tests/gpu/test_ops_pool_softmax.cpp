// SPDX-License-Identifier: MIT
// global_avg_pool and softmax ops vs the CPU reference.
#include <gtest/gtest.h>

#include <cfloat>
#include <sstream>

#include "gpu_fixture.h"
#include "ops/global_avg_pool.h"
#include "ops/softmax.h"
#include "repvk/cpu_reference.h"
#include "repvk/error.h"
#include "test_ops_util.h"

namespace repvk {
namespace {

using test::GpuTest;

constexpr double kTolFp32 = 1e-4;
constexpr double kTolFp16 = 1e-2;

void check_pool(Device& device, std::mt19937_64& rng, uint32_t n, uint32_t c, uint32_t h,
                uint32_t w, bool fp16) {
  std::ostringstream what;
  what << "n=" << n << " c=" << c << " " << h << "x" << w << (fp16 ? " fp16" : " fp32") << "; "
       << test::seed_note();
  // Post-ReLU activations are mostly non-negative: a positive mean makes the
  // relative metric meaningful, a few negatives keep the sum honest.
  std::vector<float> input = test::random_floats(rng, size_t(n) * c * h * w, 1.0f);
  for (auto& x : input) x = x + 0.5f;
  if (fp16) input = test::round_to_half(input);

  GlobalAvgPoolOp op(device, VK_NULL_HANDLE, TensorShape{c, h, w}, fp16);
  // The op writes what the network plans for the pool: fp32 in every mode.
  EXPECT_FALSE(layer_output_can_be_half(LayerType::GlobalAvgPool));
  std::vector<float> ref(size_t(n) * c);
  cpu::global_avg_pool(input.data(), n, c, h, w, ref.data());
  // Output is fp32 in both variants, so fp16 differs only by its rounded inputs
  // (already in the reference): the fp32 tolerance applies to both.
  const test::OpRun run = test::run_op(device, op, input, fp16, ref.size(), false, n);
  const test::Comparison cmp = test::compare(run.output, ref, kTolFp32);
  EXPECT_EQ(cmp.bad, 0u) << what.str() << "\n  max rel err " << cmp.max_rel << " at " << cmp.worst
                         << " (gpu " << run.output[cmp.worst] << ", ref " << ref[cmp.worst] << ")";
  EXPECT_TRUE(run.guard_intact) << what.str() << ": wrote past the end of the output";
}

void pool_suite(Device& device, bool fp16) {
  std::mt19937_64 rng(test::test_seed() * 31u + (fp16 ? 1 : 0));
  // Fixed edges: single pixel, single channel, planes that are not multiples of the
  // 4-wide unrolled sum, N*C not a multiple of the workgroup.
  const uint32_t fixed[][4] = {{1, 1, 1, 1},  {3, 5, 1, 1},   {2, 7, 3, 5},
                               {1, 65, 7, 7}, {4, 3, 64, 64}, {1, 2049, 2, 3}};
  for (const auto& f : fixed) check_pool(device, rng, f[0], f[1], f[2], f[3], fp16);
  for (int i = 0; i < 6; ++i) {
    const uint32_t h = test::log_uniform_u32(rng, 1, 64);
    check_pool(device, rng, test::log_uniform_u32(rng, 1, 8), test::log_uniform_u32(rng, 1, 512), h,
               rng() % 4 ? h : test::log_uniform_u32(rng, 1, 64), fp16);
  }
}

TEST_F(GpuTest, GlobalAvgPoolMatchesCpuReferenceFp32) { pool_suite(device(), false); }

TEST_F(GpuTest, GlobalAvgPoolMatchesCpuReferenceFp16) {
  if (!device().enabled().storage_16bit)
    GTEST_SKIP() << device().info().name << " lacks storageBuffer16BitAccess: fp16 pool untested";
  pool_suite(device(), true);
}

// Softmax probabilities span many orders of magnitude; below 1e-6 of the total the
// comparison becomes absolute (1e-4 * 1e-6), so flushed denormals still pass while a
// wrong normalization cannot.
constexpr double kSoftmaxFloor = 1e-6;

void check_softmax(Device& device, const std::vector<float>& logits, uint32_t n, uint32_t k,
                   const std::string& label) {
  const std::string what =
      label + " n=" + std::to_string(n) + " k=" + std::to_string(k) + "; " + test::seed_note();
  SoftmaxOp op(device, VK_NULL_HANDLE, TensorShape{k, 1, 1});
  std::vector<float> ref(logits.size());
  cpu::softmax(logits.data(), n, k, ref.data());
  const test::OpRun run = test::run_op(device, op, logits, false, ref.size(), false, n);
  // The floor here is absolute, not rms-based: probabilities are already normalized.
  std::vector<float> gpu = run.output;
  test::Comparison cmp;
  for (size_t i = 0; i < ref.size(); ++i) {
    double rel =
        std::fabs(double(gpu[i]) - ref[i]) / std::max(std::fabs(double(ref[i])), kSoftmaxFloor);
    if (std::isnan(rel)) rel = INFINITY;
    if (rel > kTolFp32) ++cmp.bad;
    if (rel > cmp.max_rel || i == 0) {
      cmp.max_rel = rel;
      cmp.worst = i;
    }
  }
  EXPECT_EQ(cmp.bad, 0u) << what << "\n  workgroup " << op.workgroup_size() << "; max rel err "
                         << cmp.max_rel << " at " << cmp.worst << " (gpu " << gpu[cmp.worst]
                         << ", ref " << ref[cmp.worst] << ")";
  EXPECT_TRUE(run.guard_intact) << what << ": wrote past the end of the output";
  for (uint32_t b = 0; b < n; ++b) {
    double sum = 0;
    for (uint32_t i = 0; i < k; ++i) sum += gpu[size_t(b) * k + i];
    EXPECT_NEAR(sum, 1.0, 1e-4) << what << ": image " << b << " does not sum to 1";
  }
}

TEST_F(GpuTest, SoftmaxRandomLogitsMatchCpuReference) {
  std::mt19937_64 rng(test::test_seed() * 131u);
  // Around the power-of-two workgroup sizes, typical class counts, and the largest
  // class count the format allows.
  for (uint32_t k : {1u, 2u, 7u, 10u, 255u, 256u, 257u, 1000u, 4097u, 100000u}) {
    const uint32_t n = test::log_uniform_u32(rng, 1, k >= 10000 ? 3 : 8);
    const float scale = std::uniform_real_distribution<float>(0.1f, 20.0f)(rng);
    check_softmax(device(), test::random_floats(rng, size_t(n) * k, scale), n, k,
                  "random scale=" + std::to_string(scale));
  }
}

TEST_F(GpuTest, SoftmaxExtremeLogitsStayFinite) {
  // Without max subtraction every one of these overflows exp() or divides 0 by 0.
  const uint32_t k = 300;
  std::vector<float> logits;
  auto add_row = [&](auto value_of) {
    for (uint32_t i = 0; i < k; ++i) logits.push_back(value_of(i));
  };
  add_row([](uint32_t i) { return i == 17 ? 1e30f : -1e30f; });    // one dominant class
  add_row([](uint32_t) { return 88.0f; });                         // exp overflows unshifted
  add_row([](uint32_t i) { return -1e4f + float(i % 3); });        // exp underflows unshifted
  add_row([](uint32_t i) { return i % 2 ? FLT_MAX : -FLT_MAX; });  // x - max = -inf
  add_row([](uint32_t i) { return 1e6f + float(i) * 0.25f; });     // large, close together
  add_row([](uint32_t i) { return i == k - 1 ? 50.0f : 0.0f; });   // winner in the last lane
  check_softmax(device(), logits, 6, k, "extreme");
}

TEST_F(GpuTest, SoftmaxLargeBatchAboveDispatchLimitThrows) {
  SoftmaxOp op(device(), VK_NULL_HANDLE, TensorShape{10, 1, 1});
  Buffer in(device(), 64, MemoryUsage::DeviceLocal), out(device(), 64, MemoryUsage::DeviceLocal);
  DescriptorArena arena(device(), 1, 2);
  op.bind(arena, in.handle(), out.handle());
  const uint64_t limit = device().info().limits.max_workgroup_count[0];
  if (limit >= UINT32_MAX) GTEST_SKIP() << "no representable batch exceeds the x limit";
  EXPECT_THROW(op.record(VK_NULL_HANDLE, uint32_t(limit + 1)), Error);
}

}  // namespace
}  // namespace repvk
