// Device layer: validation messenger canary, device choice, adopting app handles,
// memory transfers, limits and the on-disk pipeline cache.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "gpu_fixture.h"
#include "runtime/memory.h"
#include "runtime/pipeline.h"
#include "repvk/error.h"

namespace repvk {
namespace {

using test::GpuTest;

TEST_F(GpuTest, CanaryValidationErrorIsCaught) {
  // A zero-sized buffer violates VUID-VkBufferCreateInfo-size-00912: if the
  // messenger were not attached, every other "clean" GPU test would prove nothing.
  ASSERT_EQ(message_count(), 0u);
  VkBufferCreateInfo ci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  ci.size = 0;
  ci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  VkBuffer buffer = VK_NULL_HANDLE;
  vkCreateBuffer(device().handle(), &ci, nullptr, &buffer);
  if (buffer != VK_NULL_HANDLE) vkDestroyBuffer(device().handle(), buffer, nullptr);
  EXPECT_GE(message_count(), 1u);
  bool named = false;
  for (const auto& m : messages_) named |= m.find("VUID-VkBufferCreateInfo-size") != std::string::npos;
  EXPECT_TRUE(named) << "the canary error should carry its VUID";
  clear_messages();
}

TEST_F(GpuTest, UploadDownloadRoundTrip) {
  std::vector<uint32_t> data(12345);
  std::mt19937 rng(std::random_device{}());
  for (auto& v : data) v = rng();
  for (MemoryUsage usage : {MemoryUsage::DeviceLocal, MemoryUsage::Upload, MemoryUsage::Readback}) {
    Buffer buffer(device(), data.size() * 4, usage);
    fill(device(), buffer, 0xDEADBEEFu);
    upload(device(), buffer, data.data(), data.size() * 4);
    std::vector<uint32_t> back(data.size(), 0);
    download(device(), buffer, back.data(), back.size() * 4);
    EXPECT_EQ(back, data);
  }
}

TEST_F(GpuTest, FillPoisonsWholeBuffer) {
  Buffer buffer(device(), 1000 * 4, MemoryUsage::DeviceLocal);
  fill(device(), buffer, 0x7FC00000u);
  std::vector<uint32_t> back(1000, 0);
  download(device(), buffer, back.data(), back.size() * 4);
  for (uint32_t v : back) ASSERT_EQ(v, 0x7FC00000u);
}

TEST_F(GpuTest, BufferAboveStorageRangeIsRefusedClearly) {
  const uint64_t too_big = device().info().limits.max_storage_buffer_range + 4;
  try {
    Buffer buffer(device(), too_big, MemoryUsage::DeviceLocal);
    FAIL() << "expected repvk::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("maxStorageBufferRange"), std::string::npos) << e.what();
  }
}

TEST_F(GpuTest, TransferOutOfRangeThrows) {
  Buffer buffer(device(), 64, MemoryUsage::DeviceLocal);
  std::vector<uint8_t> data(128);
  EXPECT_THROW(upload(device(), buffer, data.data(), 128), Error);
  EXPECT_THROW(download(device(), buffer, data.data(), 60, 8), Error);
}

TEST_F(GpuTest, InfoIsFilledIn) {
  const PhysicalDeviceInfo& info = device().info();
  EXPECT_FALSE(info.name.empty());
  EXPECT_GE(info.api_version, static_cast<uint32_t>(VK_API_VERSION_1_1));
  EXPECT_GT(info.limits.max_storage_buffer_range, 0u);
  EXPECT_GT(info.limits.max_shared_memory, 0u);
  EXPECT_GT(info.limits.max_workgroup_invocations, 0u);
  EXPECT_NE(info.compute_queue_family, UINT32_MAX);
  EXPECT_TRUE(device().owns_handles());
  // Enabled features are a subset of supported ones.
  EXPECT_TRUE(!device().enabled().storage_16bit || info.features.storage_16bit);
  EXPECT_TRUE(!device().enabled().float16 || info.features.float16);
}

TEST_F(GpuTest, PipelineCachePersistsAndRejectsForeignData) {
  char dir_template[] = "/tmp/repvk-cache-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/sub/cache.bin";
  {
    PipelineCache cache(device(), path);
    EXPECT_FALSE(cache.loaded_from_disk());
  }  // destructor saves
  {
    PipelineCache cache(device(), path);
    EXPECT_TRUE(cache.loaded_from_disk());
  }
  {
    std::ofstream garbage(path, std::ios::binary | std::ios::trunc);
    garbage << std::string(100, 'x');
  }
  {
    PipelineCache cache(device(), path);
    EXPECT_FALSE(cache.loaded_from_disk());
  }
  {
    PipelineCache cache(device(), "none");
    EXPECT_FALSE(cache.loaded_from_disk());
  }
  std::remove(path.c_str());
  std::remove((std::string(dir_template) + "/sub").c_str());
  std::remove(dir_template);
}

TEST_F(GpuTest, UnknownShaderNameIsAnError) {
  PipelineCache cache(device(), "none");
  try {
    ComputePipeline p(device(), cache.handle(), "no_such_shader", 1, 0, {});
    FAIL() << "expected repvk::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_shader"), std::string::npos);
  }
}

PhysicalDeviceInfo fake(uint32_t index, VkPhysicalDeviceType type, const char* name,
                        uint64_t heap) {
  PhysicalDeviceInfo d;
  d.index = index;
  d.type = type;
  d.name = name;
  d.api_version = VK_API_VERSION_1_2;
  d.compute_queue_family = 0;
  d.limits.device_local_bytes = heap;
  return d;
}

TEST(DeviceChoice, PrefersDiscreteThenIntegratedThenVirtualThenCpu) {
  std::vector<PhysicalDeviceInfo> devs = {
      fake(0, VK_PHYSICAL_DEVICE_TYPE_CPU, "llvmpipe", 1ull << 30),
      fake(1, VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU, "Intel UHD", 2ull << 30),
      fake(2, VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU, "virtio", 4ull << 30),
      fake(3, VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, "GeForce small", 2ull << 30),
      fake(4, VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, "GeForce big", 8ull << 30),
  };
  EXPECT_EQ(choose_device(devs, ""), 4u);  // discrete, and the larger heap
  devs.pop_back();
  devs.pop_back();
  EXPECT_EQ(choose_device(devs, ""), 1u);
  devs.erase(devs.begin() + 1);
  EXPECT_EQ(choose_device(devs, ""), 2u);
}

TEST(DeviceChoice, CompileOnlyDeviceIsPickedOnlyWhenAloneOrNamed) {
  std::vector<PhysicalDeviceInfo> devs = {
      fake(0, VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, "Null hardware (RADV NAVI21)", 0),
      fake(1, VK_PHYSICAL_DEVICE_TYPE_CPU, "llvmpipe", 1ull << 30),
  };
  devs[0].runnable = false;
  devs[0].not_runnable_reason = "no DRM node";
  EXPECT_EQ(choose_device(devs, ""), 1u);      // a CPU device beats a discrete one that cannot run
  EXPECT_EQ(choose_device(devs, "navi"), 0u);  // but it can still be asked for
  devs.pop_back();
  EXPECT_EQ(choose_device(devs, ""), 0u);
}

TEST(DeviceChoice, OverrideByIndexAndNameSubstring) {
  std::vector<PhysicalDeviceInfo> devs = {
      fake(0, VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, "NVIDIA H200", 1ull << 30),
      fake(1, VK_PHYSICAL_DEVICE_TYPE_CPU, "llvmpipe (LLVM 15.0.6, 256 bits)", 1ull << 30),
  };
  EXPECT_EQ(choose_device(devs, "1"), 1u);
  EXPECT_EQ(choose_device(devs, "LLVMPIPE"), 1u);
  EXPECT_EQ(choose_device(devs, "h200"), 0u);
  try {
    choose_device(devs, "radeon");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("radeon"), std::string::npos);
  }
  EXPECT_THROW(choose_device(devs, "7"), Error);
}

TEST(DeviceChoice, SkipsDevicesWithoutVulkan11OrCompute) {
  std::vector<PhysicalDeviceInfo> devs = {
      fake(0, VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, "old", 1ull << 30),
      fake(1, VK_PHYSICAL_DEVICE_TYPE_CPU, "cpu", 1ull << 30),
  };
  devs[0].api_version = VK_API_VERSION_1_0;
  EXPECT_EQ(choose_device(devs, ""), 1u);
  devs[1].compute_queue_family = UINT32_MAX;
  EXPECT_THROW(choose_device(devs, ""), Error);
}

TEST(DeviceChoice, EnvironmentVariableSelectsDevice) {
  const auto devs = enumerate_devices();
  ASSERT_FALSE(devs.empty());
  setenv("REPVK_DEVICE", "no-device-has-this-name", 1);
  EXPECT_THROW(Device::create(), Error);
  setenv("REPVK_DEVICE", std::to_string(devs.back().index).c_str(), 1);
  auto device = Device::create();
  EXPECT_EQ(device->info().name, devs.back().name);
  unsetenv("REPVK_DEVICE");
}

TEST(VulkanErrorTest, CarriesResultName) {
  try {
    vk_check(VK_ERROR_DEVICE_LOST, "vkQueueSubmit");
    FAIL();
  } catch (const VulkanError& e) {
    EXPECT_EQ(e.result(), VK_ERROR_DEVICE_LOST);
    EXPECT_STREQ(e.result_name(), "VK_ERROR_DEVICE_LOST");
    EXPECT_NE(std::string(e.what()).find("vkQueueSubmit: VK_ERROR_DEVICE_LOST"), std::string::npos);
  }
  EXPECT_STREQ(vk_result_name(VK_ERROR_OUT_OF_DEVICE_MEMORY), "VK_ERROR_OUT_OF_DEVICE_MEMORY");
  EXPECT_NO_THROW(vk_check(VK_SUCCESS, "ok"));
  EXPECT_NO_THROW(vk_check(VK_INCOMPLETE, "positive codes are not errors"));
}

TEST(TwoDevices, CoexistWithoutSharedState) {
  auto a = Device::create();
  auto b = Device::create();
  Buffer ba(*a, 256, MemoryUsage::DeviceLocal);
  Buffer bb(*b, 256, MemoryUsage::DeviceLocal);
  fill(*a, ba, 1u);
  fill(*b, bb, 2u);
  uint32_t va = 0, vb = 0;
  download(*a, ba, &va, 4);
  download(*b, bb, &vb, 4);
  EXPECT_EQ(va, 1u);
  EXPECT_EQ(vb, 2u);
}

}  // namespace
}  // namespace repvk
