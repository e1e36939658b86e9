// SPDX-License-Identifier: MIT
// The precision policy an application picks for a Network (NetworkOptions::precision,
// NetworkOptions::fp16_math) and the per-device measurement behind fp16 arithmetic.
// Kept apart from repvk/network.h because the engine's kernels use these too.
// Thread-safety: the name functions are pure; measure_fp16_math() is thread-safe.
// Errors: repvk::Error.
#pragma once

#include <string>

#include "repvk/device.h"
#include "repvk/export.h"

namespace repvk {

enum class Precision {
  Auto,  // resolves to Fp32: fp16 storage is never picked just because it exists
  Fp32,  // Vulkan 1.1 core only; always available
  Fp16,  // fp16 activation storage, fp32 accumulation; throws if unsupported
};
REPVK_API const char* precision_name(Precision p);

// fp16 arithmetic in the GPU conv kernel (fp16 products of one K stage summed in fp16,
// then added into fp32 accumulators; shaders/conv3x3_igemm.comp, MATH_FP16).
// Independent of Precision, which is the activation storage. Auto: only where
// shaderFloat16 is enabled on the Device and measure_fp16_math() found it faster there,
// never because it exists; On: wherever that kernel runs (throws without
// shaderFloat16); Off: never. $REPVK_FP16_MATH sets it through
// options_from_environment() (repvk/environment.h).
enum class Fp16Math { Auto, On, Off };
REPVK_API const char* fp16_math_name(Fp16Math m);
// "auto", "on", "off"; throws repvk::Error on anything else.
REPVK_API Fp16Math parse_fp16_math(const std::string& name);

// Times the fp32 and the fp16-arithmetic conv pipelines on one representative
// layer (64->64 channels, 28x28, batch 4, 4-bit per-channel codebooks; 16->16, 14x14,
// batch 1 on CPU devices), 2 warm-up and 7 timed runs each, interleaved; medians by
// timestamp queries where the compute queue has them, host fence time otherwise. fp16 is
// chosen when its median is at least 5% below fp32's. Runs at most once per Device
// (thread-safe; the record is cached in it, Device::cached_fp16_math()); on a device
// without shaderFloat16 enabled, or one that cannot execute, it times nothing and
// returns measured = false with the reason. Network calls it under Fp16Math::Auto when
// one of its conv layers runs the kernel that has fp16 arithmetic.
REPVK_API Fp16MathMeasurement measure_fp16_math(Device& device);

}  // namespace repvk
