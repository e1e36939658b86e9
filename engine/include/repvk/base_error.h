// SPDX-License-Identifier: MIT
// repvk::Error, the base of every exception the engine throws, without the Vulkan
// types of repvk/error.h, so that the Vulkan-free libraries (repvk_model, repvk_util)
// and the trainer can throw and catch it too.
#pragma once

#include "repvk/export.h"

#include <stdexcept>
#include <string>

namespace repvk {

class REPVK_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace repvk
