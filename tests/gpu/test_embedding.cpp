// SPDX-License-Identifier: MIT
// What an embedding application relies on besides image input: repvk's pipelines in
// the application's VkPipelineCache, and an exact account of repvk's device memory.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "gpu_fixture.h"
#include "repvk/cpu_reference.h"
#include "repvk/network.h"
#include "repvk/synthetic.h"
#include "test_ops_util.h"

namespace repvk {
namespace {

using test::GpuTest;

Model small_model() {
  SyntheticConfig cfg = synthetic_preset("small");
  cfg.stage_widths = {8, 8, 16, 16, 32};
  return make_synthetic_model(cfg);
}

// Bytes of a file, or -1 when there is none.
long long file_bytes(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? -1 : static_cast<long long>(n);
}

// Fresh random images; the network's probabilities must be the CPU reference's.
void expect_matches_cpu(Network& net, const Model& model) {
  std::mt19937_64 rng(test::test_seed());
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  const uint32_t batch = 3;
  std::vector<float> x(size_t(net.input_size()) * batch);
  for (float& v : x) v = u(rng);
  const std::vector<float> gpu = net.infer(x, batch);
  const std::vector<float> cpu = cpu::forward(model, x.data(), batch);
  ASSERT_EQ(gpu.size(), cpu.size());
  for (size_t i = 0; i < gpu.size(); ++i)
    EXPECT_NEAR(gpu[i], cpu[i], 1e-4) << "output " << i << "; " << test::seed_note();
}

// The application's VkPipelineCache receives repvk's pipelines and survives the Network.
// Effects checked: with the borrowed cache repvk writes no cache file of its own (a
// Network without it, the control, does), and the borrowed cache ends up holding at
// least what repvk's own cache holds for the same pipelines on a fresh device (on
// lavapipe, whose cache stores nothing beyond its 32-byte header, both are the header).
TEST_F(GpuTest, BorrowedPipelineCache) {
  VkDevice dev = device().handle();
  VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  VkPipelineCache cache = VK_NULL_HANDLE;
  ASSERT_EQ(vkCreatePipelineCache(dev, &ci, nullptr, &cache), VK_SUCCESS);
  size_t empty = 0;
  ASSERT_EQ(vkGetPipelineCacheData(dev, cache, &empty, nullptr), VK_SUCCESS);
  const std::string dir = ::testing::TempDir() + "repvk-borrowed-cache-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string borrowed_file = dir + "/borrowed.bin", own_file = dir + "/own.bin";
  std::filesystem::remove(borrowed_file);
  std::filesystem::remove(own_file);
  const Model model = small_model();
  {
    NetworkOptions opts;
    opts.pipeline_cache = cache;
    opts.pipeline_cache_path = borrowed_file;  // ignored: the borrowed cache replaces it
    Network net(device(), model, opts);
    expect_matches_cpu(net, model);
  }
  EXPECT_EQ(file_bytes(borrowed_file), -1) << "repvk wrote its own cache file: the app's cache was not used";
  size_t filled = 0;
  ASSERT_EQ(vkGetPipelineCacheData(dev, cache, &filled, nullptr), VK_SUCCESS);
  EXPECT_GE(filled, empty);
  vkDestroyPipelineCache(dev, cache, nullptr);

  // The control: the same model with repvk's own cache, on a fresh device (this one's
  // pipeline pool would compile nothing). Its file is a 24-byte frame + the driver's data.
  DeviceOptions o = options_from_environment().device;
  o.validation = true;
  std::vector<std::string> control_messages;
  o.on_debug_message = [&](const DebugMessage& m) { control_messages.push_back(m.text); };
  {
    std::unique_ptr<Device> fresh = Device::create(o);
    NetworkOptions opts;
    opts.pipeline_cache_path = own_file;
    Network net(*fresh, model, opts);
    expect_matches_cpu(net, model);
  }
  const long long own = file_bytes(own_file);
  ASSERT_GT(own, 24) << "the control Network wrote no cache file";
  EXPECT_GE(static_cast<long long>(filled), own - 24)
      << "the borrowed cache holds less than repvk's own cache for the same pipelines";
  for (const auto& m : control_messages) ADD_FAILURE() << "validation message: " << m;
  std::filesystem::remove_all(dir);
}

TEST_F(GpuTest, AllocatedBytesTrackNetworks) {
  const uint64_t before = device().allocated_bytes();
  {
    NetworkOptions opts;
    opts.pipeline_cache_path = "none";
    Network net(device(), small_model(), opts);
    const uint64_t one = device().allocated_bytes() - before;
    EXPECT_GT(one, 0u);
    opts.max_batch = 1;  // a smaller activation arena
    Network small(device(), small_model(), opts);
    const uint64_t two = device().allocated_bytes() - before - one;
    EXPECT_GT(two, 0u);
    EXPECT_LT(two, one);
  }
  EXPECT_EQ(device().allocated_bytes(), before);
}

}  // namespace
}  // namespace repvk
