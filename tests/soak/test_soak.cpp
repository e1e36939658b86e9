// SPDX-License-Identifier: MIT
// Soak: 1,000 create/destroy cycles of a Network and 10,000 inferences on one
// Network, on one validated device. Leaks show up as: Device::allocated_bytes()
// drifting; the validation layer's object tracker reporting objects still alive when
// the device is destroyed (GpuTest::TearDown fails on any message; the first test
// shows that it does); heap in use (mallinfo2) and resident memory growing.
//
// Both loops must keep heap and resident memory flat after a warm-up. For Network
// lifetimes this holds because the Device pools compiled pipelines
// (engine/src/runtime/pipeline_pool.h): lavapipe (Mesa 22.3.6) keeps about 0.5 MiB of
// heap per vkCreateComputePipeline even after the pipeline is destroyed (docs/testing.md,
// "Soak tests"), so a Network that recompiled its pipelines would grow the process by
// megabytes per lifetime. Heap leaks in repvk's own code are also caught by
// LeakSanitizer in CI's ASan run.
#include <gtest/gtest.h>

#include <malloc.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <vulkan/vulkan.h>

#include "gpu_fixture.h"
#include "repvk/cpu_reference.h"
#include "repvk/network.h"
#include "repvk/synthetic.h"

namespace repvk::test {
namespace {

uint64_t resident_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  const int got = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * uint64_t(::sysconf(_SC_PAGESIZE)) : 0;
}

uint64_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return uint64_t(m.uordblks) + uint64_t(m.hblkhd);
}

double mib(int64_t bytes) { return double(bytes) / (1 << 20); }

// One conv stage, pool, FC, softmax: every op kind, as cheap as possible to build.
Model tiny_model() {
  SyntheticConfig c;
  c.name = "soak";
  c.in_channels = 1;
  c.height = c.width = 8;
  c.num_classes = 10;
  c.stage_depths = {1};
  c.stage_widths = {8};
  c.stage_strides = {1};
  c.bits = 4;
  c.seed = 11;
  return make_synthetic_model(c);
}

NetworkOptions soak_options() {
  NetworkOptions o;
  o.max_batch = 1;
  o.pipeline_cache_path = "none";
  return o;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = a.size() == b.size() ? 0 : INFINITY;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    m = std::max(m, double(std::fabs(a[i] - b[i])));
  return m;
}

// The leak detector the soak relies on: a VkBuffer left alive when the device goes
// is reported by the validation layer. Without this, "no message" would prove nothing.
TEST(SoakDetector, ValidationLayerReportsAnObjectLeftAlive) {
  std::vector<std::string> messages;
  DeviceOptions options;
  options.validation = true;
  options.on_debug_message = [&](const DebugMessage& m) { messages.push_back(m.text); };
  auto device = Device::create(options);
  VkBufferCreateInfo ci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  ci.size = 256;
  ci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  VkBuffer leaked = VK_NULL_HANDLE;
  ASSERT_EQ(vkCreateBuffer(device->handle(), &ci, nullptr, &leaked), VK_SUCCESS);
  ASSERT_TRUE(messages.empty());
  device.reset();  // deliberately with `leaked` alive
  bool reported = false;
  for (const auto& m : messages) reported = reported || m.find("VkBuffer") != std::string::npos;
  EXPECT_TRUE(reported) << messages.size() << " message(s), none about the VkBuffer";
}

TEST_F(GpuTest, ThousandNetworkLifetimesStayFlat) {
  const Model model = tiny_model();
  constexpr int kCycles = 1000, kWarmup = 100;
  std::vector<float> input(64);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (float& v : input) v = u(rng);
  const std::vector<float> expected = cpu::forward(model, input.data(), 1);

  const uint64_t device_bytes_idle = device().allocated_bytes();
  uint64_t rss_after_warmup = 0, heap_after_warmup = 0, device_bytes_live = 0;
  for (int i = 0; i < kCycles; ++i) {
    {
      Network net(device(), model, soak_options());
      if (i == 0) device_bytes_live = device().allocated_bytes();
      ASSERT_EQ(device().allocated_bytes(), device_bytes_live) << "cycle " << i;
      if (i % 100 == 0 || i == kCycles - 1) {  // the network still computes the right thing
        const auto probs = net.infer(input, 1);
        ASSERT_LE(max_abs_diff(probs, expected), 1e-4) << "cycle " << i;
      }
    }
    ASSERT_EQ(device().allocated_bytes(), device_bytes_idle) << "after cycle " << i;
    ASSERT_EQ(message_count(), 0u) << "validation message in cycle " << i;
    if (i == kWarmup - 1) {
      rss_after_warmup = resident_bytes();
      heap_after_warmup = heap_in_use();
    }
  }
  const int64_t rss = int64_t(resident_bytes()) - int64_t(rss_after_warmup);
  const int64_t heap = int64_t(heap_in_use()) - int64_t(heap_after_warmup);
  std::printf("soak: %d Network lifetimes; over the last %d: heap in use %+.3f MiB, resident "
              "%+.2f MiB\n",
              kCycles, kCycles - kWarmup, mib(heap), mib(rss));
  EXPECT_LT(heap, int64_t(1) << 20) << "heap in use grew by " << mib(heap) << " MiB";
  EXPECT_LT(rss, int64_t(2) << 20) << "resident memory grew by " << mib(rss) << " MiB";
  // Objects still alive are reported when TearDown destroys the device.
}

TEST_F(GpuTest, TenThousandInferencesStayFlat) {
  const Model model = tiny_model();
  Network net(device(), model, soak_options());
  constexpr int kInferences = 10000, kWarmup = 500;
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> input(net.input_size());
  const uint64_t device_bytes = device().allocated_bytes();
  uint64_t rss_after_warmup = 0, heap_after_warmup = 0;
  for (int i = 0; i < kInferences; ++i) {
    for (float& v : input) v = u(rng);  // fresh data every time
    const auto probs = net.infer(input, 1);
    if (i % 1000 == 0 || i == kInferences - 1) {
      ASSERT_LE(max_abs_diff(probs, cpu::forward(model, input.data(), 1)), 1e-4)
          << "inference " << i;
    }
    ASSERT_EQ(device().allocated_bytes(), device_bytes) << "inference " << i;
    if (i == kWarmup - 1) {
      rss_after_warmup = resident_bytes();
      heap_after_warmup = heap_in_use();
    }
  }
  ASSERT_EQ(message_count(), 0u);
  const int64_t rss = int64_t(resident_bytes()) - int64_t(rss_after_warmup);
  const int64_t heap = int64_t(heap_in_use()) - int64_t(heap_after_warmup);
  std::printf("soak: %d inferences; over the last %d: heap in use %+.3f MiB, resident %+.2f MiB\n",
              kInferences, kInferences - kWarmup, mib(heap), mib(rss));
  // 1 MiB over 9,500 inferences: a leak of more than ~110 bytes per inference fails.
  EXPECT_LT(heap, int64_t(1) << 20) << "heap in use grew by " << mib(heap) << " MiB";
  EXPECT_LT(rss, int64_t(2) << 20) << "resident memory grew by " << mib(rss) << " MiB";
}

}  // namespace
}  // namespace repvk::test
