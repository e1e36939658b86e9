// SPDX-License-Identifier: MIT
// Batched 1-D k-means: each row of a [G, n] tensor is clustered independently
// (G = 1 for a per-layer codebook, G = output channels for per-channel codebooks).
#pragma once

#include "common.h"

namespace repvk::train {

struct KMeansResult {
  torch::Tensor centroids;  // float [G, k]
  torch::Tensor assign;     // int64 [G, n]
};

// Each row is clustered by the engine's repvk::kmeans_1d (repvk/synthetic.h: k-means++
// seeding from `seed`, bit-for-bit reproducible, then up to `iters` Lloyd iterations);
// the rows' values are then assigned to their nearest centroid, empty clusters filled,
// and each centroid set to the mean of its members.
KMeansResult kmeans_1d(const torch::Tensor& data, int64_t k, uint64_t seed, int iters = 30);

// Index of the nearest centroid for every value ([G,n] against [G,k]). Centroids need
// not be sorted. In 1-D the nearest-centroid cells are intervals, so this is a binary
// search against the midpoints of the sorted centroids.
torch::Tensor assign_nearest(const torch::Tensor& data, const torch::Tensor& centroids);

// Lloyd M-step: each centroid becomes the mean of its members; a centroid without
// members keeps its value. Returns the member counts [G,k] through `counts` if given.
torch::Tensor cluster_means(const torch::Tensor& data, const torch::Tensor& assign,
                            const torch::Tensor& centroids, torch::Tensor* counts = nullptr);

// Gives every empty cluster a member: the value worst served by its current centroid
// (taken from a cluster with at least two members) becomes the empty cluster's centroid
// and only member. Clusters stay empty only when a row has fewer distinct values than
// k. Modifies centroids and assign in place.
void fill_empty_clusters(const torch::Tensor& data, torch::Tensor& centroids, torch::Tensor& assign);

}  // namespace repvk::train
