// SPDX-License-Identifier: MIT
// What an embedding application relies on besides image input: repvk's pipelines in
// the application's VkPipelineCache, and an exact account of repvk's device memory.
#include <gtest/gtest.h>

#include <vector>

#include "gpu_fixture.h"
#include "repvk/network.h"
#include "repvk/synthetic.h"

namespace repvk {
namespace {

using test::GpuTest;

Model small_model() {
  SyntheticConfig cfg = synthetic_preset("small");
  cfg.stage_widths = {8, 8, 16, 16, 32};
  return make_synthetic_model(cfg);
}

// The application's VkPipelineCache receives repvk's pipelines and survives the Network.
TEST_F(GpuTest, BorrowedPipelineCache) {
  VkDevice dev = device().handle();
  VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  VkPipelineCache cache = VK_NULL_HANDLE;
  ASSERT_EQ(vkCreatePipelineCache(dev, &ci, nullptr, &cache), VK_SUCCESS);
  size_t empty = 0;
  ASSERT_EQ(vkGetPipelineCacheData(dev, cache, &empty, nullptr), VK_SUCCESS);
  {
    NetworkOptions opts;
    opts.pipeline_cache = cache;
    opts.pipeline_cache_path = "/nonexistent/must-not-be-written.bin";
    Network net(device(), small_model(), opts);
    std::vector<float> x(net.input_size(), 0.5f);
    EXPECT_EQ(net.infer(x, 1).size(), net.num_classes());
  }
  size_t filled = 0;
  ASSERT_EQ(vkGetPipelineCacheData(dev, cache, &filled, nullptr), VK_SUCCESS);
  EXPECT_GE(filled, empty);
  vkDestroyPipelineCache(dev, cache, nullptr);
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
