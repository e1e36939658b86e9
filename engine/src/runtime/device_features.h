// SPDX-License-Identifier: MIT
// The Vulkan feature bits repvk reads, from one table (device_features.cpp): each row
// names its extension, feature struct, member, DeviceFeatures field and when repvk
// enables it. The table drives the query (query_device), the pNext chain and extension
// list of vkCreateDevice (Device::create), and what an adopted device may use
// (Device::adopt). Subgroup operations and timestamps are properties, not features:
// they need no enabling and are copied from PhysicalDeviceInfo as they are.
#pragma once

#include <string>
#include <vector>

#include <vulkan/vulkan.h>

#include "repvk/device.h"

namespace repvk {

// When a supported feature is turned on. Nothing beyond Vulkan 1.1 core is required:
// every row is optional, and a device without it runs the fp32 / non-statistics path.
enum class FeatureUse {
  Fp16,        // unless DeviceOptions::force_fp32; on adopt, only if the app enabled it
  Statistics,  // with DeviceOptions::capture_pipeline_statistics; never on adopt
  ReportOnly,  // listed by `repvk devices`, never enabled (no kernel uses it)
};

// Fills the table's DeviceFeatures fields of `info` from vkGetPhysicalDeviceFeatures2
// (structs whose extension is missing and that are not core at `api_version` are left
// out of the chain and read as unsupported).
void query_table_features(VkPhysicalDevice pd, uint32_t api_version,
                          const std::vector<std::string>& extensions, DeviceFeatures& out);

// What repvk enables on a device with `supported` features for `options`; `app_enabled`
// (adopt only, else null) limits the Fp16 rows to what the application turned on.
// Properties (subgroups, timestamps, subgroup size) are taken from `supported`.
DeviceFeatures features_to_enable(const DeviceFeatures& supported, const DeviceOptions& options,
                                  const AdoptedHandles* app_enabled);

// The feature chain and extensions that enable `enabled` in vkCreateDevice. Owns the
// structs it links; keep it alive until vkCreateDevice returns.
class DeviceFeatureChain {
 public:
  DeviceFeatureChain(const DeviceFeatures& enabled, uint32_t api_version);
  DeviceFeatureChain(const DeviceFeatureChain&) = delete;
  DeviceFeatureChain& operator=(const DeviceFeatureChain&) = delete;

  const VkPhysicalDeviceFeatures2* features2() const { return &structs_.root; }
  // Extensions the enabled rows need at this API version (each listed once).
  const std::vector<const char*>& extensions() const { return extensions_; }

  // Every feature struct the table uses, as one block: rows reach theirs through it.
  struct Structs {
    VkPhysicalDeviceFeatures2 root{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    VkPhysicalDevice16BitStorageFeatures storage16{
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDeviceShaderFloat16Int8Features float16_int8{
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    VkPhysicalDeviceShaderIntegerDotProductFeatures dot{
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
    VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR executable{
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR};
  };

 private:
  Structs structs_;
  std::vector<const char*> extensions_;
};

}  // namespace repvk
