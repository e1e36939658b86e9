// SPDX-License-Identifier: MIT
// OABN, Outlier-Aware Batch Normalization (design and proof in docs/method.md).
//
// Each RepVGG branch's BN scales channel c by s = γ/√(σ²+ε) and the merge multiplies
// that branch's kernel by s. OABN keeps BN's normalization and mean/β handling but
// replaces s by a smooth, strictly bounded s_eff = τ·tanh(s/τ), with a per-channel
// bound τ supplied by the block (detached, so it acts as a constraint, not a target):
//   3x3 branch:  τ = κ · median_c |s3|                  (no row of the kernel explodes)
//   1x1 branch:  τ = λ1 · r_o / max_i |K1[o,i]|          (centre excess ≤ λ1·r_o)
//   identity:    τ = λid · r_o                           (centre excess ≤ λid·r_o)
// where r_o is the RMS of output channel o's off-centre merged weights. Hence every
// merged centre tap differs from the 3x3 branch's own centre by less than
// (λ1+λid)·r_o, which is what tests/train checks on every channel.
#pragma once

#include <functional>

#include "common.h"

namespace repvk::train {

enum class NormKind { Bn, Oabn };

struct OabnParams {
  double kappa = 6.0;       // 3x3 row scale bound, in multiples of the layer's median scale
  double lambda_1x1 = 2.0;  // 1x1 centre contribution bound, in multiples of r_o
  double lambda_id = 2.0;   // identity centre contribution bound, in multiples of r_o
};

// Computes τ (per channel, detached) from the raw BN scale s of this branch.
using TauFn = std::function<torch::Tensor(const torch::Tensor& raw_scale)>;

// s_eff = τ·tanh(s/τ): |s_eff| < τ, and s_eff ≈ s for |s| ≪ τ so well-behaved
// channels train as under plain BN.
torch::Tensor bounded_scale(const torch::Tensor& s, const torch::Tensor& tau);

// The normalization of one branch: plain BN when `tau` is empty, OABN otherwise.
class BranchNormImpl : public torch::nn::Module {
 public:
  BranchNormImpl(int64_t channels, double gamma_init);

  struct Result {
    torch::Tensor y;      // normalized output
    torch::Tensor scale;  // OABN only: the per-channel s_eff used
  };
  Result forward(const torch::Tensor& x, const TauFn& tau);

  // Eval-mode affine map y = x*scale + shift, exactly what forward() applies in eval
  // mode. Used by the merge.
  std::pair<torch::Tensor, torch::Tensor> eval_affine(const TauFn& tau) const;
  // Raw BN scale γ/√(running_var+ε), before any bound.
  torch::Tensor raw_eval_scale() const;

  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  double eps = 1e-5, momentum = 0.1;

  // Synchronized BN (dist/sync_bn.h): when set, training-mode statistics come from
  // [Σx, Σx², count] (per channel, float64) passed through this differentiable sum
  // over ranks instead of from the local batch alone.
  std::function<torch::Tensor(const torch::Tensor&)> sync_stats;

 private:
  Result forward_synced(const torch::Tensor& x, const TauFn& tau);
};
TORCH_MODULE(BranchNorm);

}  // namespace repvk::train
