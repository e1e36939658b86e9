// SPDX-License-Identifier: MIT
// Data-parallel gradient averaging, the part of PyTorch's DDP the C++ frontend lacks.
// One fixed, ordered parameter list (the same on every rank, so the collectives
// match); gradients are flattened into buckets of about 25 MB and each bucket is one
// all-reduce. Undefined gradients are sent as zeros, so a parameter unused on one
// rank cannot make the ranks issue different collectives.
#pragma once

#include "dist/comm.h"

namespace repvk::train {

class GradientSync {
 public:
  GradientSync(std::vector<torch::Tensor> params, Comm& comm, int64_t bucket_bytes = int64_t(25) << 20);

  // Sums every gradient over the ranks in place (the caller divides each rank's loss
  // by the global batch size, so the sum is the global mean gradient). `flag` rides
  // along in the last bucket; returns its sum over ranks (e.g. "someone pressed Ctrl-C").
  double sum(double flag = 0);

  size_t buckets() const { return buckets_.size(); }
  int64_t bytes_per_step() const;

 private:
  struct Bucket {
    size_t first = 0, last = 0;  // params [first, last)
    torch::Tensor flat;
  };
  std::vector<torch::Tensor> params_;
  std::vector<Bucket> buckets_;
  Comm& comm_;
};

// Copies rank 0's parameters and buffers into every rank (start of training, resume).
void broadcast_module(torch::nn::Module& m, Comm& comm);
void broadcast_buffers(torch::nn::Module& m, Comm& comm);
// Broadcasts rank 0's `ts` (same shapes on every rank) in one flattened collective.
void broadcast_tensors(std::vector<torch::Tensor>& ts, Comm& comm);

}  // namespace repvk::train
