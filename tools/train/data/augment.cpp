// SPDX-License-Identifier: MIT
#include "data/augment.h"

#include <random>

namespace repvk::train {

torch::Tensor epoch_permutation(int64_t n, uint64_t seed, int64_t epoch) {
  // std::shuffle's algorithm is implementation-defined; Fisher-Yates with raw
  // mt19937_64 output keeps the order identical across standard libraries.
  std::mt19937_64 g(mix_seed(seed, 0x5E7A11, uint64_t(epoch)));
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[size_t(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[size_t(i)], p[size_t(g() % uint64_t(i + 1))]);
  return torch::from_blob(p.data(), {n}, torch::kInt64).clone();
}

torch::Tensor make_batch(const Dataset& d, const torch::Tensor& index, const Normalization& norm,
                         const Augmentation& aug, uint64_t batch_seed) {
  torch::Tensor x = d.images.index_select(0, index).to(torch::kFloat32).div_(255.0f);
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  std::mt19937_64 g(batch_seed);
  if (aug.crop_padding > 0) {
    const int64_t p = aug.crop_padding;
    // Padding with zeros in pixel space (black), as torchvision's RandomCrop does.
    torch::Tensor padded = torch::constant_pad_nd(x, {p, p, p, p}, 0.0);
    torch::Tensor out = torch::empty_like(x);
    for (int64_t i = 0; i < b; ++i) {
      const int64_t dy = int64_t(g() % uint64_t(2 * p + 1));
      const int64_t dx = int64_t(g() % uint64_t(2 * p + 1));
      out[i].copy_(padded[i].narrow(1, dy, h).narrow(2, dx, w));
    }
    x = out;
  }
  if (aug.hflip) {
    std::vector<int64_t> flip;
    for (int64_t i = 0; i < b; ++i)
      if (g() & 1) flip.push_back(i);
    if (!flip.empty()) {
      torch::Tensor idx = torch::tensor(flip, torch::kInt64);
      x.index_copy_(0, idx, x.index_select(0, idx).flip({3}));
    }
  }
  torch::Tensor mean = torch::tensor(norm.mean).view({1, -1, 1, 1});
  torch::Tensor std = torch::tensor(norm.std).view({1, -1, 1, 1});
  return x.sub_(mean).div_(std);
}

}  // namespace repvk::train
