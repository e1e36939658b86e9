// SPDX-License-Identifier: MIT
// Plain C++ forward pass, the ground truth the GPU ops are tested against.
// No Vulkan, no threads, no vectorization tricks: every sum is accumulated in
// double so the only fp32 rounding is the final store. Activations are NCHW.
#pragma once

#include "repvk/export.h"

#include <cstdint>
#include <vector>

#include "repvk/model.h"

namespace repvk::cpu {

// 3x3 convolution, pad 1, stride 1|2, bias, optional ReLU.
// in [n][cin][h][w], weights [cout][cin][3][3], bias [cout],
// out [n][cout][(h-1)/stride+1][(w-1)/stride+1].
REPVK_API void conv3x3(const float* in, uint32_t n, uint32_t cin, uint32_t h, uint32_t w,
                       const float* weights, const float* bias, uint32_t cout, uint32_t stride,
                       bool relu, float* out);

// in [n][c][h][w] -> out [n][c], the mean of each plane.
REPVK_API void global_avg_pool(const float* in, uint32_t n, uint32_t c, uint32_t h, uint32_t w,
                               float* out);

// in [n][in_features], weights [out_features][in_features], bias [out_features]
// -> out [n][out_features].
REPVK_API void fully_connected(const float* in, uint32_t n, uint32_t in_features,
                               const float* weights, const float* bias, uint32_t out_features,
                               bool relu, float* out);

// Row-wise softmax of [n][k] with max subtraction. `in` and `out` may alias.
REPVK_API void softmax(const float* in, uint32_t n, uint32_t k, float* out);

// Runs the whole model on `batch` images (NCHW, model.input shape). Returns
// batch * (elements of the last layer's output). With logits_only, a final Softmax
// layer is skipped and the logits are returned. Throws ModelError for an invalid model.
REPVK_API std::vector<float> forward(const Model& model, const float* input, uint32_t batch,
                                     bool logits_only = false);

}  // namespace repvk::cpu
