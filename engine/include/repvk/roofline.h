// SPDX-License-Identifier: MIT
// The device's measured peaks, from synthetic shaders: the denominators of the
// "fraction of peak" figures in `repvk bench --roofline`.
#pragma once

#include "repvk/device.h"
#include "repvk/export.h"

namespace repvk {

struct RooflinePeaks {
  double fp32_gflops = 0;  // multiply-adds counted as 2 operations
  double fp16_gflops = 0;  // 0 when the device lacks shaderFloat16
  double copy_gbps = 0;    // storage buffer to storage buffer, read + write bytes
  double texel_copy_gbps = 0;  // the same, reading through a uniform texel buffer view
  // The bandwidth ceiling a kernel can reach by the better of the two read paths.
  double best_copy_gbps() const { return copy_gbps > texel_copy_gbps ? copy_gbps : texel_copy_gbps; }
  double seconds = 0;      // wall time the measurement took
};

struct RooflineOptions {
  // Each figure is the best of `repeats` submissions, each grown until it runs at
  // least `min_seconds`, so that submission overhead is a small part of it.
  double min_seconds = 0.2;
  int repeats = 3;
  uint64_t copy_bytes = 64ull << 20;  // per buffer; capped by the device's limits
};

// Runs the synthetic shaders on `device` (blocking, a second or so per figure).
// Thread-safety: like Network::infer, one call at a time per Device queue.
// Throws Error / VulkanError on failure.
REPVK_API RooflinePeaks measure_roofline(Device& device, const RooflineOptions& options = {});

}  // namespace repvk
