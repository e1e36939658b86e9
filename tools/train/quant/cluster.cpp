// SPDX-License-Identifier: MIT
#include "quant/cluster.h"

#include "quant/kmeans.h"
#include "quant/uniform.h"

namespace repvk::train {
namespace {

// Bound on finalize's Lloyd iterations; 1-D Lloyd from a near-converged codebook
// settles in a handful.
constexpr int kFinalLloydIters = 100;

}  // namespace

ClusterQAT::ClusterQAT(DeployNetImpl& net, std::vector<int> bits, const ClusterOptions& opt)
    : bits_(std::move(bits)), opt_(opt) {
  if (bits_.size() != net.num_layers())
    throw std::logic_error("ClusterQAT: one bit width per layer expected");
  if (opt.reassign_every < 1) throw TrainError("--reassign-every must be >= 1");
  for (size_t l = 0; l < bits_.size(); ++l) {
    check_bits(bits_[l], "--bits");
    auto km = kmeans_1d(rows(net.weights[l].detach()), int64_t(1) << bits_[l],
                        mix_seed(opt.seed, 0xC0DEB00C, l), opt.kmeans_iters);
    centroids.push_back(km.centroids);
    assign.push_back(km.assign);
  }
}

torch::Tensor ClusterQAT::rows(const torch::Tensor& w) const {
  return opt_.granularity == Granularity::Channel ? w.reshape({w.size(0), -1})
                                                  : w.reshape({1, -1});
}

torch::Tensor ClusterQAT::forward_weight(size_t l, const torch::Tensor& latent) const {
  torch::Tensor q = centroids[l].gather(1, assign[l]).view_as(latent);
  // q + (latent - latent) is exactly q in value (x - x == 0 in floating point), so the
  // forward weights are exactly codebook entries, while d/d latent is the identity.
  // latent + (q - latent).detach() would round to values off the codebook.
  return q + (latent - latent.detach());
}

void ClusterQAT::after_step(DeployNetImpl& net) {
  torch::NoGradGuard ng;
  ++steps;
  const bool reassign = steps % opt_.reassign_every == 0;
  for (size_t l = 0; l < bits_.size(); ++l) {
    torch::Tensor w = rows(net.weights[l].detach());
    if (reassign) {
      assign[l] = assign_nearest(w, centroids[l]);
      fill_empty_clusters(w, centroids[l], assign[l]);
    }
    centroids[l] = cluster_means(w, assign[l], centroids[l]);
  }
}

void ClusterQAT::finalize(DeployNetImpl& net) {
  torch::NoGradGuard ng;
  for (size_t l = 0; l < bits_.size(); ++l) {
    torch::Tensor w = rows(net.weights[l].detach());
    // Lloyd until an E-step changes nothing. One E+M step is not enough: the M-step
    // moves the centroids, and a weight near a midpoint is then closer to a neighbour
    // than to its own centroid. Converged, both rules hold: every weight sits at its
    // nearest centroid and every centroid is the mean of its members.
    for (int it = 0; it < kFinalLloydIters; ++it) {
      torch::Tensor a = assign_nearest(w, centroids[l]);
      fill_empty_clusters(w, centroids[l], a);
      const bool stable = a.equal(assign[l]);
      assign[l] = a;
      centroids[l] = cluster_means(w, assign[l], centroids[l]);
      if (stable) break;
    }
  }
}

}  // namespace repvk::train
