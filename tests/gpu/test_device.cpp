// SPDX-License-Identifier: MIT
// Device layer: validation messenger canary, device choice, adopting app handles,
// memory transfers, limits and the on-disk pipeline cache.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "gpu_fixture.h"
#include "runtime/device_features.h"
#include "runtime/memory.h"
#include "runtime/pipeline.h"
#include "repvk/error.h"
#include "repvk_internal/network_tuning.h"

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

// Several buffers, one crossing a staging-buffer boundary, through one open batch: none
// is written before submit(), all are after it, in one submission.
TEST_F(GpuTest, UploadBatchStagesEverythingInOneSubmission) {
  std::mt19937 rng(std::random_device{}());
  const std::vector<size_t> words = {1, 1000 + rng() % 1000, (5u << 20) / 4 + rng() % 1000, 77};
  std::vector<Buffer> buffers;
  std::vector<std::vector<uint32_t>> data;
  for (size_t n : words) {
    buffers.emplace_back(device(), (n + 3) * 4, MemoryUsage::DeviceLocal);
    fill(device(), buffers.back(), 0xDEADBEEFu);
    data.emplace_back(n);
    for (auto& v : data.back()) v = rng();
  }
  auto read = [&](size_t i) {
    std::vector<uint32_t> back(words[i] + 3);
    download(device(), buffers[i], back.data(), back.size() * 4);
    return back;
  };
  {
    UploadBatch batch(device(), /*stage_mapped=*/true);
    ASSERT_EQ(UploadBatch::active(device()), &batch);
    for (size_t i = 0; i < words.size(); ++i)
      upload(device(), buffers[i], data[i].data(), data[i].size() * 4, 8);  // at word 2
    EXPECT_EQ(batch.pending_copies(), words.size());
    EXPECT_EQ(batch.staging_buffers(), 2u);  // 4 MiB, then 8 MiB for the 5 MiB buffer
    for (size_t i = 0; i < words.size(); ++i) EXPECT_EQ(read(i)[2], 0xDEADBEEFu) << i;
    batch.submit();
    EXPECT_EQ(batch.submissions(), 1u);
    EXPECT_EQ(batch.pending_copies(), 0u);
  }
  EXPECT_EQ(UploadBatch::active(device()), nullptr);
  for (size_t i = 0; i < words.size(); ++i) {
    const std::vector<uint32_t> back = read(i);
    EXPECT_EQ(back[0], 0xDEADBEEFu) << i;
    EXPECT_EQ(back[1], 0xDEADBEEFu) << i;
    EXPECT_EQ(std::vector<uint32_t>(back.begin() + 2, back.end() - 1), data[i]) << i;
    EXPECT_EQ(back.back(), 0xDEADBEEFu) << i;
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
  EXPECT_EQ(device().queue_family(), info.compute_queue_family);
  // Enabled features are a subset of supported ones.
  EXPECT_TRUE(!device().enabled().storage_16bit || info.features.storage_16bit);
  EXPECT_TRUE(!device().enabled().float16 || info.features.float16);
}

// What the feature table enables, on the device and for every option combination:
// fp16 rows unless force_fp32 (and, adopted, only what the app enabled), statistics
// only when capturing, report-only rows never, properties always as supported.
TEST_F(GpuTest, EnabledFeaturesFollowTheTable) {
  const DeviceFeatures& have = device().info().features;
  const DeviceFeatures& on = device().enabled();
  const bool fp32 = options_from_environment().device.force_fp32;
  EXPECT_EQ(on.storage_16bit, have.storage_16bit && !fp32);
  EXPECT_EQ(on.float16, have.float16 && !fp32);
  EXPECT_FALSE(on.integer_dot_product);
  EXPECT_FALSE(on.pipeline_executable_info);
  EXPECT_EQ(on.subgroup_basic, have.subgroup_basic);
  EXPECT_EQ(on.subgroup_arithmetic, have.subgroup_arithmetic);
  EXPECT_EQ(on.subgroup_shuffle, have.subgroup_shuffle);
  EXPECT_EQ(on.subgroup_ballot, have.subgroup_ballot);
  EXPECT_EQ(on.subgroup_size, have.subgroup_size);
  EXPECT_EQ(on.timestamps, have.timestamps);

  DeviceFeatures all;
  for (bool DeviceFeatures::*f :
       {&DeviceFeatures::storage_16bit, &DeviceFeatures::float16, &DeviceFeatures::subgroup_basic,
        &DeviceFeatures::subgroup_arithmetic, &DeviceFeatures::subgroup_shuffle,
        &DeviceFeatures::subgroup_ballot, &DeviceFeatures::integer_dot_product,
        &DeviceFeatures::timestamps, &DeviceFeatures::pipeline_executable_info})
    all.*f = true;
  all.subgroup_size = 32;
  DeviceOptions options;
  DeviceFeatures e = features_to_enable(all, options, nullptr);
  EXPECT_TRUE(e.storage_16bit && e.float16 && e.subgroup_ballot && e.timestamps);
  EXPECT_FALSE(e.integer_dot_product || e.pipeline_executable_info);
  EXPECT_EQ(e.subgroup_size, 32u);
  options.force_fp32 = true;
  options.capture_pipeline_statistics = true;
  e = features_to_enable(all, options, nullptr);
  EXPECT_FALSE(e.storage_16bit || e.float16);
  EXPECT_TRUE(e.pipeline_executable_info);
  // Adopted: only what the application enabled, and never statistics.
  AdoptedHandles app;
  app.float16_enabled = true;
  e = features_to_enable(all, DeviceOptions{}, &app);
  EXPECT_FALSE(e.storage_16bit);
  EXPECT_TRUE(e.float16 && e.subgroup_ballot && e.timestamps);
  options = DeviceOptions{};
  options.capture_pipeline_statistics = true;
  EXPECT_FALSE(features_to_enable(all, options, &app).pipeline_executable_info);
  // Nothing the device lacks, whatever is asked.
  e = features_to_enable(DeviceFeatures{}, options, nullptr);
  EXPECT_FALSE(e.storage_16bit || e.float16 || e.pipeline_executable_info || e.subgroup_ballot);
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

// Sets variables for one test and puts back what the process had before.
class ScopedEnvironment {
 public:
  ScopedEnvironment() {
    for (const char* v : kNames)
      if (const char* old = std::getenv(v)) saved_.emplace_back(v, old);
  }
  ~ScopedEnvironment() {
    for (const char* v : kNames) unsetenv(v);
    for (const auto& [name, value] : saved_) setenv(name.c_str(), value.c_str(), 1);
  }
  static constexpr const char* kNames[] = {
      "REPVK_DEVICE",  "REPVK_VALIDATION", "REPVK_FORCE_FP32", "REPVK_CONV",
      "REPVK_CONV_TILE", "REPVK_CONV_SG",  "XDG_CACHE_HOME",   "HOME",
      "REPVK_FP16_MATH"};

 private:
  std::vector<std::pair<std::string, std::string>> saved_;
};

TEST(DeviceChoice, EnvironmentVariableSelectsDevice) {
  ScopedEnvironment scope;
  const auto devs = enumerate_devices();
  ASSERT_FALSE(devs.empty());
  setenv("REPVK_DEVICE", "no-device-has-this-name", 1);
  EXPECT_THROW(Device::create(options_from_environment().device), Error);
  setenv("REPVK_DEVICE", std::to_string(devs.back().index).c_str(), 1);
  auto device = Device::create(options_from_environment().device);
  EXPECT_EQ(device->info().name, devs.back().name);
  // The library itself reads no environment: without the options function the
  // variable is ignored.
  setenv("REPVK_DEVICE", "no-device-has-this-name", 1);
  EXPECT_NO_THROW(Device::create());
}

// One environment read for everything, one way of reading booleans.
TEST(Environment, ParsesEveryVariable) {
  ScopedEnvironment scope;
  setenv("REPVK_VALIDATION", "Yes", 1);
  setenv("REPVK_FORCE_FP32", "off", 1);
  setenv("REPVK_CONV", "direct", 1);
  setenv("REPVK_CONV_TILE", "8,8,32", 1);
  setenv("REPVK_CONV_SG", "0", 1);
  setenv("REPVK_FP16_MATH", "off", 1);
  setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
  EnvironmentOptions e = options_from_environment();
  EXPECT_EQ(e.network.fp16_math, Fp16Math::Off);
  EXPECT_TRUE(e.device.validation);
  EXPECT_FALSE(e.device.force_fp32);
  EXPECT_EQ(tuning(e.network).conv_algorithm, ConvAlgorithm::Direct);
  EXPECT_EQ(tuning(e.network).conv_tile.px, 8u);
  EXPECT_EQ(tuning(e.network).conv_tile.oc, 8u);
  EXPECT_EQ(tuning(e.network).conv_tile.workgroup, 32u);
  EXPECT_EQ(tuning(e.network).conv_tile.cin_chunk, 0u);  // three numbers: the texel kernel only
  EXPECT_FALSE(tuning(e.network).conv_subgroup_broadcast);
  EXPECT_EQ(e.network.pipeline_cache_dir, "/tmp/xdg/repvk");

  setenv("XDG_CACHE_HOME", "relative", 1);  // not absolute: ignored, HOME decides
  setenv("HOME", "/home/someone", 1);
  EXPECT_EQ(options_from_environment().network.pipeline_cache_dir, "/home/someone/.cache/repvk");

  setenv("REPVK_VALIDATION", "maybe", 1);
  try {
    options_from_environment();
    ADD_FAILURE() << "REPVK_VALIDATION=maybe was accepted";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("REPVK_VALIDATION='maybe'"), std::string::npos)
        << err.what();
  }
  setenv("REPVK_VALIDATION", "0", 1);
  setenv("REPVK_CONV", "winograd", 1);
  try {
    options_from_environment();
    ADD_FAILURE() << "REPVK_CONV=winograd was accepted";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("REPVK_CONV"), std::string::npos) << err.what();
  }
  setenv("REPVK_CONV", "direct", 1);
  setenv("REPVK_FP16_MATH", "always", 1);
  try {
    options_from_environment();
    ADD_FAILURE() << "REPVK_FP16_MATH=always was accepted";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("REPVK_FP16_MATH"), std::string::npos) << err.what();
  }
  for (const char* v : ScopedEnvironment::kNames) unsetenv(v);
  const EnvironmentOptions clean = options_from_environment();
  EXPECT_EQ(clean.network.fp16_math, Fp16Math::Auto);
  EXPECT_FALSE(clean.device.validation);
  EXPECT_EQ(tuning(clean.network).conv_algorithm, ConvAlgorithm::Auto);
  EXPECT_TRUE(tuning(clean.network).conv_subgroup_broadcast);
  EXPECT_EQ(clean.network.tuning, nullptr) << "no REPVK_CONV* variable, no tuning object";
}

// The one table of kernel names: every entry parses back to itself, the CLI's choices
// are the table's names, and anything else is refused with the known names listed.
TEST(ConvKernelNames, OneTableGivesNamesParsingAndChoices) {
  const std::vector<std::string> all = conv_kernel_choices();
  ASSERT_EQ(all.size(), conv_kernel_names().size());
  EXPECT_EQ(all.front(), "auto");
  EXPECT_EQ(conv_kernel_choices(false).size(), all.size() - 1);
  for (const ConvKernelName& k : conv_kernel_names()) {
    EXPECT_EQ(parse_conv_algorithm(k.name), k.algorithm) << k.name;
    EXPECT_STREQ(conv_algorithm_name(k.algorithm), k.name);
  }
  try {
    parse_conv_algorithm("winograd");
    ADD_FAILURE() << "winograd accepted";
  } catch (const Error& e) {
    for (const std::string& n : all)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

// tuning() writes copy on write: options copied earlier keep their own values.
TEST(NetworkTuning, CopiesDoNotShareWrites) {
  NetworkOptions a;
  EXPECT_EQ(a.tuning, nullptr);
  EXPECT_EQ(tuning(static_cast<const NetworkOptions&>(a)).igemm_split_k, 0u);
  tuning(a).igemm_split_k = 3;
  NetworkOptions b = a;
  tuning(b).igemm_split_k = 5;
  tuning(b).conv_algorithm = ConvAlgorithm::Direct;
  EXPECT_EQ(tuning(static_cast<const NetworkOptions&>(a)).igemm_split_k, 3u);
  EXPECT_EQ(tuning(static_cast<const NetworkOptions&>(a)).conv_algorithm, ConvAlgorithm::Auto);
  EXPECT_EQ(tuning(static_cast<const NetworkOptions&>(b)).igemm_split_k, 5u);
  NetworkTuning& t = tuning(a);  // sole owner: written in place, the reference stays valid
  tuning(a).compute_units = 7;
  EXPECT_EQ(t.compute_units, 7u);
  EXPECT_EQ(t.igemm_split_k, 3u);
}

TEST(Environment, BooleansParseOneWay) {
  for (const char* t : {"1", "true", "TRUE", "yes", "On"}) EXPECT_TRUE(parse_bool(t, "X")) << t;
  for (const char* f : {"", "0", "false", "No", "OFF"}) EXPECT_FALSE(parse_bool(f, "X")) << f;
  EXPECT_THROW(parse_bool("2", "X"), Error);
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
