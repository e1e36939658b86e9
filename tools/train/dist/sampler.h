// SPDX-License-Identifier: MIT
// Distributed sampling. Every epoch has one global order, epoch_permutation(n, seed,
// epoch), whatever the number of ranks; global batch s is perm[s·B, s·B+B) and rank r
// of N takes the contiguous slice [r·b/N, (r+1)·b/N) of it (b: that batch's size).
// So the ranks' shards are disjoint, cover the epoch, differ in size by at most one
// sample per step, and N ranks step through exactly the batches one process would:
// with the loss of each rank divided by the global batch size, summed gradients equal
// the single-process gradient. (libtorch's DistributedRandomSampler is not used: it
// repeats one order every epoch.)
#pragma once

#include "common.h"

namespace repvk::train {

struct Slice {
  int64_t begin = 0, count = 0;
};

// Rank `rank`'s part of a global batch of `batch_size` samples.
Slice rank_slice(int64_t batch_size, int rank, int world);

// Optimizer steps per epoch for `n` samples and global batch `batch`, capped by `cap`
// (0: no cap). With several ranks a final batch smaller than the world size (some
// rank would get no sample) is dropped.
int64_t epoch_steps(int64_t n, int64_t batch, int world, int64_t cap);

// Dataset indices rank `rank` trains on at global step `step` of an epoch with order `perm`.
torch::Tensor rank_batch(const torch::Tensor& perm, int64_t step, int64_t batch, int rank, int world);

// All indices of rank `rank`'s shard of epoch `epoch`, in training order.
torch::Tensor epoch_shard(int64_t n, uint64_t seed, int64_t epoch, int64_t batch, int rank, int world,
                          int64_t cap = 0);

}  // namespace repvk::train
