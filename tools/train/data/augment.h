// SPDX-License-Identifier: MIT
// Batch assembly: uint8 pixels -> normalized float, with the training augmentation
// (random crop from a zero-padded image, optional horizontal flip). Randomness comes
// from a per-batch seed so a resumed run draws exactly the batches it would have.
#pragma once

#include "data/dataset.h"

namespace repvk::train {

struct Augmentation {
  int64_t crop_padding = 0;  // 0 disables the random crop
  bool hflip = false;
};

// Images `index` (int64 [B]) of `d`, as float [B,C,H,W] normalized with `norm`.
torch::Tensor make_batch(const Dataset& d, const torch::Tensor& index, const Normalization& norm,
                         const Augmentation& aug, uint64_t batch_seed);

// Shuffled order of `n` samples for one epoch, reproducible from (seed, epoch).
torch::Tensor epoch_permutation(int64_t n, uint64_t seed, int64_t epoch);

}  // namespace repvk::train
