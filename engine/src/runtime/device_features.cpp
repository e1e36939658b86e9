// SPDX-License-Identifier: MIT
#include "runtime/device_features.h"

#include <algorithm>
#include <cstring>

namespace repvk {
namespace {

using Structs = DeviceFeatureChain::Structs;

template <typename T>
VkBaseOutStructure* header(T& s) {
  return reinterpret_cast<VkBaseOutStructure*>(&s);
}

struct FeatureRow {
  const char* extension;  // provides the struct below core_version (null: core only)
  uint32_t core_version;  // the API version it is core from (0: extension only)
  VkBaseOutStructure* (*feature_struct)(Structs&);
  VkBool32* (*member)(Structs&);
  bool DeviceFeatures::*field;
  FeatureUse use;
  // The AdoptedHandles flag by which an application says it enabled the feature; null
  // where repvk never uses the feature on an adopted device.
  bool AdoptedHandles::*app_enabled;
};

// Add a feature here (and its struct to DeviceFeatureChain::Structs); the query, the
// chain, the extension list and adopt follow from the row.
const FeatureRow kFeatureTable[] = {
    {nullptr, VK_API_VERSION_1_1,
     [](Structs& s) { return header(s.storage16); },
     [](Structs& s) { return &s.storage16.storageBuffer16BitAccess; },
     &DeviceFeatures::storage_16bit, FeatureUse::Fp16, &AdoptedHandles::storage_16bit_enabled},
    {VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME, VK_API_VERSION_1_2,
     [](Structs& s) { return header(s.float16_int8); },
     [](Structs& s) { return &s.float16_int8.shaderFloat16; },
     &DeviceFeatures::float16, FeatureUse::Fp16, &AdoptedHandles::float16_enabled},
    // Reported for the 8-bit kernels to come; enabled once one of them uses it.
    {VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME, VK_API_VERSION_1_3,
     [](Structs& s) { return header(s.dot); },
     [](Structs& s) { return &s.dot.shaderIntegerDotProduct; },
     &DeviceFeatures::integer_dot_product, FeatureUse::ReportOnly, nullptr},
    {VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME, 0,
     [](Structs& s) { return header(s.executable); },
     [](Structs& s) { return &s.executable.pipelineExecutableInfo; },
     &DeviceFeatures::pipeline_executable_info, FeatureUse::Statistics, nullptr},
};

bool is_core(const FeatureRow& row, uint32_t api_version) {
  return row.core_version != 0 && api_version >= row.core_version;
}

bool available(const FeatureRow& row, uint32_t api_version,
               const std::vector<std::string>& extensions) {
  return is_core(row, api_version) ||
         (row.extension &&
          std::find(extensions.begin(), extensions.end(), row.extension) != extensions.end());
}

// Appends the row's struct to the chain under `s.root` unless it is there already
// (two rows may share one struct).
void link(Structs& s, const FeatureRow& row) {
  VkBaseOutStructure* node = row.feature_struct(s);
  VkBaseOutStructure* tail = header(s.root);
  for (; tail->pNext; tail = tail->pNext)
    if (tail->pNext == node) return;
  tail->pNext = node;
}

}  // namespace

void query_table_features(VkPhysicalDevice pd, uint32_t api_version,
                          const std::vector<std::string>& extensions, DeviceFeatures& out) {
  Structs s;
  for (const FeatureRow& row : kFeatureTable)
    if (available(row, api_version, extensions)) link(s, row);
  vkGetPhysicalDeviceFeatures2(pd, &s.root);
  for (const FeatureRow& row : kFeatureTable)
    out.*row.field = available(row, api_version, extensions) && *row.member(s) == VK_TRUE;
}

DeviceFeatures features_to_enable(const DeviceFeatures& supported, const DeviceOptions& options,
                                  const AdoptedHandles* app_enabled) {
  DeviceFeatures enable = supported;
  for (const FeatureRow& row : kFeatureTable) {
    bool wanted = false;
    switch (row.use) {
      case FeatureUse::Fp16: wanted = !options.force_fp32; break;
      case FeatureUse::Statistics: wanted = options.capture_pipeline_statistics; break;
      case FeatureUse::ReportOnly: wanted = false; break;
    }
    if (app_enabled) wanted = wanted && row.app_enabled && app_enabled->*row.app_enabled;
    enable.*row.field = supported.*row.field && wanted;
  }
  return enable;
}

DeviceFeatureChain::DeviceFeatureChain(const DeviceFeatures& enabled, uint32_t api_version) {
  for (const FeatureRow& row : kFeatureTable) {
    if (!(enabled.*row.field)) continue;
    link(structs_, row);
    *row.member(structs_) = VK_TRUE;
    if (row.extension && !is_core(row, api_version) &&
        std::none_of(extensions_.begin(), extensions_.end(),
                     [&](const char* e) { return std::strcmp(e, row.extension) == 0; }))
      extensions_.push_back(row.extension);
  }
}

}  // namespace repvk
