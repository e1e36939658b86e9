// SPDX-License-Identifier: MIT
#include "quant/uniform.h"

namespace repvk::train {

void check_bits(int bits, const std::string& flag) {
  if (bits < 1 || bits > 8)
    throw TrainError(flag + " " + std::to_string(bits) + " is outside 1..8 (the engine's " +
                     "packed indices hold 1 to 8 bits)");
}

torch::Tensor uniform_quantize(const torch::Tensor& w, int bits) {
  check_bits(bits, "bits");
  torch::NoGradGuard ng;
  torch::Tensor rows = w.reshape({w.size(0), -1});
  if (bits == 1) {
    torch::Tensor s = rows.abs().mean(1, true);
    return (torch::where(rows >= 0, s, -s)).view_as(w);
  }
  const double q = double((1 << (bits - 1)) - 1);
  torch::Tensor s = (rows.abs().amax(1, true) / q).clamp_min(1e-12);
  return (torch::round(rows / s).clamp(-q, q) * s).view_as(w);
}

torch::Tensor uniform_ste(const torch::Tensor& w, int bits) {
  // Exactly the quantized values forward (w - w == 0), identity gradient backward.
  return uniform_quantize(w, bits) + (w - w.detach());
}

}  // namespace repvk::train
