// SPDX-License-Identifier: MIT
// Synchronized batch normalization: every BranchNorm (BN and OABN alike) computes its
// batch statistics from [Σx, Σx², count] summed over all ranks, so N ranks with
// batch B/N normalize exactly as one process with batch B (weighted by each rank's
// sample count, which may differ by one). The all-reduce is differentiable: its
// backward sums the gradients over ranks too, which is what makes the parameter
// gradients equal the single-process ones.
#pragma once

#include "dist/comm.h"

namespace repvk::train {

// Forward: Σ over ranks of `t`. Backward: Σ over ranks of the incoming gradient.
torch::Tensor allreduce_sum_autograd(const torch::Tensor& t, Comm& comm);

// Makes every BranchNorm in `m` use global batch statistics (also with one rank, so
// single- and multi-process runs use the same formula). Returns how many it switched.
int enable_sync_bn(torch::nn::Module& m, Comm& comm);

}  // namespace repvk::train
