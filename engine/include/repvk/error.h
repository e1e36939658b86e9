// SPDX-License-Identifier: MIT
// Exceptions thrown by the engine. Every Vulkan failure becomes a VulkanError that
// carries the VkResult and its name; nothing in the library calls abort(). Model file
// problems are repvk::ModelError (repvk/model.h: file, layer, problem). Code that
// cannot use exceptions calls the C API (repvk/repvk.h), which returns status codes
// and keeps the message per handle and per thread.
#pragma once

#include "repvk/base_error.h"
#include "repvk/export.h"

#include <string>

#include <vulkan/vulkan.h>

namespace repvk {

// class Error: repvk/base_error.h.

// A caller's mistake the library detected before doing any work: a buffer smaller
// than the call needs, a zero batch, a dimension over a documented limit. The message
// gives the numbers. The C API returns it as REPVK_ERROR_INVALID_ARGUMENT.
class REPVK_API InvalidArgument : public Error {
 public:
  using Error::Error;
};

class REPVK_API VulkanError : public Error {
 public:
  VulkanError(VkResult result, const std::string& what);
  VkResult result() const { return result_; }
  const char* result_name() const;

 private:
  VkResult result_;
};

REPVK_API const char* vk_result_name(VkResult result);

// Throws VulkanError("<what>: <VK_NAME>") when result is an error code.
inline void vk_check(VkResult result, const char* what) {
  if (result < 0) throw VulkanError(result, what);
}

}  // namespace repvk
