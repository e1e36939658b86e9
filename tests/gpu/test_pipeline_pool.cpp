// SPDX-License-Identifier: MIT
// The Device's pipeline pool: equal pipeline requests share one compiled VkPipeline,
// a Network created after another of the same model compiles nothing, pooled
// pipelines outlive the Network that compiled them, and threads creating Networks at
// once end up with one pipeline per distinct request.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <mutex>
#include <string>
#include <random>
#include <thread>
#include <vector>

#include "gpu_fixture.h"
#include "repvk/cpu_reference.h"
#include "repvk/network.h"
#include "repvk_internal/network_tuning.h"
#include "repvk/synthetic.h"
#include "runtime/pipeline.h"
#include "runtime/pipeline_pool.h"

namespace repvk::test {
namespace {

Model small_model(uint32_t seed, uint32_t bits) {
  SyntheticConfig c;
  c.name = "pool";
  c.in_channels = 1;
  c.height = c.width = 8;
  c.num_classes = 10;
  c.stage_depths = {1, 1};
  c.stage_widths = {8, 16};
  c.stage_strides = {1, 2};
  c.bits = bits;
  c.seed = seed;
  return make_synthetic_model(c);
}

NetworkOptions no_disk_cache() {
  NetworkOptions o;
  o.max_batch = 1;
  o.pipeline_cache_path = "none";
  return o;
}

std::vector<float> random_input(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
  return m;
}

TEST_F(GpuTest, PoolSharesEqualPipelinesOnly) {
  PipelinePool& pool = device().pipeline_pool();
  ASSERT_EQ(pool.size(), 0u);
  ComputePipeline a(device(), VK_NULL_HANDLE, "softmax_f32", 2, 16, {{0, 64}});
  ComputePipeline b(device(), VK_NULL_HANDLE, "softmax_f32", 2, 16, {{0, 64}});
  EXPECT_EQ(a.handle(), b.handle());
  EXPECT_EQ(a.layout(), b.layout());
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(pool.reused(), 1u);
  // Any difference in what the driver is given is a different pipeline.
  ComputePipeline other_spec(device(), VK_NULL_HANDLE, "softmax_f32", 2, 16, {{0, 32}});
  ComputePipeline other_push(device(), VK_NULL_HANDLE, "softmax_f32", 2, 20, {{0, 64}});
  ComputePipeline other_bindings(device(), VK_NULL_HANDLE, "softmax_f32", 3, 16, {{0, 64}});
  EXPECT_NE(other_spec.handle(), a.handle());
  EXPECT_NE(other_push.handle(), a.handle());
  EXPECT_NE(other_bindings.handle(), a.handle());
  EXPECT_EQ(pool.size(), 4u);
}

TEST_F(GpuTest, SecondNetworkOfAModelCompilesNothing) {
  const Model model = small_model(3, 4);
  const std::vector<float> input = random_input(64, 1);
  const std::vector<float> expected = cpu::forward(model, input.data(), 1);
  PipelinePool& pool = device().pipeline_pool();
  size_t compiled = 0;
  {
    Network first(device(), model, no_disk_cache());
    compiled = pool.size();
    ASSERT_GT(compiled, 0u);
    EXPECT_LE(max_abs_diff(first.infer(input, 1), expected), 1e-4);
  }
  // The first Network is gone; its pipelines stay pooled and are reused.
  const uint64_t reused_before = pool.reused();
  Network second(device(), model, no_disk_cache());
  EXPECT_EQ(pool.size(), compiled);
  EXPECT_GE(pool.reused() - reused_before, compiled);
  std::vector<float> probs = second.infer(input, 1);
  EXPECT_LE(max_abs_diff(probs, expected), 1e-4);

  // Another model (other weights and bit widths) shares whatever pipelines the chosen
  // kernels allow (on lavapipe the texel conv reads expanded weights, so the bit width
  // does not even change its pipeline) and still computes its own answer.
  const Model other = small_model(4, 2);
  const std::vector<float> other_expected = cpu::forward(other, input.data(), 1);
  Network third(device(), other, no_disk_cache());
  EXPECT_LE(max_abs_diff(third.infer(input, 1), other_expected), 1e-4);
  NetworkOptions direct = no_disk_cache();
  tuning(direct).conv_algorithm = ConvAlgorithm::Direct;  // its pipeline is specialized on the bit width
  const size_t before_direct = pool.size();
  Network fourth(device(), other, direct);
  EXPECT_GT(pool.size(), before_direct);
  EXPECT_LE(max_abs_diff(fourth.infer(input, 1), other_expected), 1e-4);
}

TEST_F(GpuTest, NetworksCreatedByThreadsAtOnceShareThePool) {
  const Model model = small_model(5, 3);
  const std::vector<float> input = random_input(64, 2);
  const std::vector<float> expected = cpu::forward(model, input.data(), 1);
  constexpr int kThreads = 4;
  std::vector<std::unique_ptr<Network>> nets(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] { nets[t] = std::make_unique<Network>(device(), model, no_disk_cache()); });
  for (auto& th : threads) th.join();
  const size_t pooled = device().pipeline_pool().size();
  for (auto& net : nets) {
    ASSERT_TRUE(net);
    EXPECT_LE(max_abs_diff(net->infer(input, 1), expected), 1e-4);
  }
  nets.clear();
  // One Network alone asks for exactly as many distinct pipelines.
  DeviceOptions options = options_from_environment().device;
  options.validation = true;
  options.on_debug_message = [this](const DebugMessage& m) {  // fails the test in TearDown
    std::lock_guard<std::mutex> lock(mutex_);
    messages_.push_back(m.id_name + ": " + m.text);
  };
  auto fresh = Device::create(options);
  { Network alone(*fresh, model, no_disk_cache()); }
  EXPECT_EQ(fresh->pipeline_pool().size(), pooled);
}

}  // namespace
}  // namespace repvk::test
