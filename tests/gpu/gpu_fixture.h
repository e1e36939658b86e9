// SPDX-License-Identifier: MIT
// Shared fixture for GPU tests: a lavapipe (or REPVK_DEVICE) device with
// VK_LAYER_KHRONOS_validation on. Any validation warning or error fails the test.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "repvk/device.h"
#include "repvk/environment.h"

namespace repvk::test {

class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The environment first, as the tools do: REPVK_DEVICE picks the device under test.
    DeviceOptions options = options_from_environment().device;
    options.validation = true;
    options.on_debug_message = [this](const DebugMessage& m) {
      std::lock_guard<std::mutex> lock(mutex_);
      messages_.push_back(m.id_name + ": " + m.text);
    };
    device_ = Device::create(options);
  }

  void TearDown() override {
    device_.reset();  // destruction must be clean too
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& m : messages_) ADD_FAILURE() << "validation message: " << m;
  }

  size_t message_count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_.size();
  }
  void clear_messages() {
    std::lock_guard<std::mutex> lock(mutex_);
    messages_.clear();
  }

  Device& device() { return *device_; }

  std::unique_ptr<Device> device_;
  std::mutex mutex_;
  std::vector<std::string> messages_;
};

// One case a test cannot run on this device while its other cases still run (fp16
// storage missing, say): reported as a gtest skip, so the test ends SKIPPED unless a
// check failed and CI sees it (scripts/ci_check_skips.sh) instead of a line on stdout.
inline void skip_case(const std::string& why) { GTEST_SKIP() << why; }

}  // namespace repvk::test
