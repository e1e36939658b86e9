// SPDX-License-Identifier: MIT
#include "dist/sampler.h"

#include "data/augment.h"

namespace repvk::train {

Slice rank_slice(int64_t batch_size, int rank, int world) {
  const int64_t lo = batch_size * rank / world, hi = batch_size * (rank + 1) / world;
  return {lo, hi - lo};
}

int64_t epoch_steps(int64_t n, int64_t batch, int world, int64_t cap) {
  int64_t steps = (n + batch - 1) / batch;
  if (world > 1 && n % batch != 0 && n % batch < world) --steps;
  if (cap > 0) steps = std::min(steps, cap);
  return steps;
}

torch::Tensor rank_batch(const torch::Tensor& perm, int64_t step, int64_t batch, int rank, int world) {
  const int64_t n = perm.size(0), b0 = step * batch, bn = std::min(batch, n - b0);
  const Slice s = rank_slice(bn, rank, world);
  return perm.narrow(0, b0 + s.begin, s.count);
}

torch::Tensor epoch_shard(int64_t n, uint64_t seed, int64_t epoch, int64_t batch, int rank, int world,
                          int64_t cap) {
  const torch::Tensor perm = epoch_permutation(n, seed, epoch);
  std::vector<torch::Tensor> parts;
  const int64_t steps = epoch_steps(n, batch, world, cap);
  for (int64_t s = 0; s < steps; ++s) parts.push_back(rank_batch(perm, s, batch, rank, world));
  return parts.empty() ? torch::empty({0}, torch::kInt64) : torch::cat(parts);
}

}  // namespace repvk::train
