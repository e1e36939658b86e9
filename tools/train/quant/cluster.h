// SPDX-License-Identifier: MIT
// ClusterQAT: non-uniform quantization with k-means codebooks of 2^b centroids,
// fine-tuned with the network (docs/method.md, "ClusterQAT").
//
// State per layer: codebooks C [G, 2^b] (G = 1 per layer, or one per output channel)
// and assignments A [G, n]. The forward pass uses C[A]; gradients pass straight
// through to the latent fp32 weights W. Centroid update rule: after every optimizer
// step each centroid is set to the exact mean of its members' latent weights (a Lloyd
// M-step with fixed assignments), so the codebook moves with the mean member gradient
// and always minimizes Σ(W - C[A])² for the current assignments. Every
// `reassign_every` steps the assignments are recomputed (E-step, nearest centroid).
#pragma once

#include "model/deploy.h"

namespace repvk::train {

enum class Granularity { Layer, Channel };

struct ClusterOptions {
  Granularity granularity = Granularity::Channel;
  int64_t reassign_every = 100;  // optimizer steps between E-steps
  int kmeans_iters = 30;         // Lloyd iterations of the initial k-means
  uint64_t seed = 1;
};

class ClusterQAT {
 public:
  // bits[l] in 1..8 for every layer of `net` (convs then fc).
  ClusterQAT(DeployNetImpl& net, std::vector<int> bits, const ClusterOptions& opt);

  // Forward-pass weight of layer l: C[A] with straight-through gradient to `latent`.
  torch::Tensor forward_weight(size_t l, const torch::Tensor& latent) const;
  // Centroid update after an optimizer step; periodic re-assignment.
  void after_step(DeployNetImpl& net);
  // Last E- and M-steps, repeated until the assignments stop changing: every weight
  // then sits at its nearest centroid, every centroid is its members' mean, and C[A]
  // is the final quantized network.
  void finalize(DeployNetImpl& net);

  int bits(size_t l) const { return bits_[l]; }
  Granularity granularity() const { return opt_.granularity; }

  // Checkpoint state.
  std::vector<torch::Tensor> centroids, assign;
  int64_t steps = 0;

 private:
  torch::Tensor rows(const torch::Tensor& w) const;
  std::vector<int> bits_;
  ClusterOptions opt_;
};

}  // namespace repvk::train
