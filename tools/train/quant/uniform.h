// SPDX-License-Identifier: MIT
// Uniform symmetric per-output-channel quantization: the PTQ and QAT baselines.
// b bits give the 2^b-1 levels {-Q..Q}·s with Q = 2^(b-1)-1 and s = max|w_row|/Q;
// b = 1 is the sign quantizer {-s, +s} with s = mean|w_row| (the L2-optimal scale).
#pragma once

#include "common.h"

namespace repvk::train {

// Quantized copy of w (rows = dim 0, i.e. output channels).
torch::Tensor uniform_quantize(const torch::Tensor& w, int bits);

// Straight-through estimator: forward uses the quantized weights, backward passes
// the gradient to w unchanged (the scale is recomputed every step, detached).
torch::Tensor uniform_ste(const torch::Tensor& w, int bits);

void check_bits(int bits, const std::string& flag);

}  // namespace repvk::train
