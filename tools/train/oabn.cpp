// SPDX-License-Identifier: MIT
#include "oabn.h"

namespace repvk::train {

torch::Tensor bounded_scale(const torch::Tensor& s, const torch::Tensor& tau) {
  return tau * torch::tanh(s / tau);
}

BranchNormImpl::BranchNormImpl(int64_t channels, double gamma_init) {
  weight = register_parameter("weight", torch::full({channels}, gamma_init));
  bias = register_parameter("bias", torch::zeros({channels}));
  running_mean = register_buffer("running_mean", torch::zeros({channels}));
  running_var = register_buffer("running_var", torch::ones({channels}));
  num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kInt64));
}

BranchNormImpl::Result BranchNormImpl::forward(const torch::Tensor& x, const TauFn& tau) {
  if (sync_stats && is_training()) return forward_synced(x, tau);
  if (!tau) {
    // Plain BN: the fused kernel, identical to torch.nn.BatchNorm2d.
    torch::Tensor y = torch::batch_norm(x, weight, bias, running_mean, running_var, is_training(),
                                        momentum, eps, /*cudnn_enabled=*/true);
    if (is_training()) num_batches_tracked += 1;
    return {y, torch::Tensor()};  // plain BN needs no scale downstream
  }
  // OABN. y = (x-μ)·s_eff + β is computed as batch_norm with weight s_eff·√(σ²+ε): the
  // same function (so the same gradients) but through the fused kernel, which also
  // keeps the running statistics exactly as plain BN does.
  torch::Tensor var = is_training() ? x.var({0, 2, 3}, /*unbiased=*/false) : running_var;
  torch::Tensor denom = torch::sqrt(var + eps);
  torch::Tensor s = weight / denom;
  torch::Tensor s_eff = bounded_scale(s, tau(s.detach()));
  torch::Tensor y = torch::batch_norm(x, s_eff * denom, bias, running_mean, running_var,
                                      is_training(), momentum, eps, true);
  if (is_training()) num_batches_tracked += 1;
  return {y, s_eff};
}

BranchNormImpl::Result BranchNormImpl::forward_synced(const torch::Tensor& x, const TauFn& tau) {
  const int64_t c = x.size(1);
  const std::vector<int64_t> dims{0, 2, 3};
  // float64 sums: Σx²/n - μ² cancels badly in float32.
  torch::Tensor local = torch::cat({x.sum(dims, false, torch::kDouble), x.square().sum(dims, false, torch::kDouble),
                                    torch::full({1}, double(x.numel() / c), x.options().dtype(torch::kDouble))});
  torch::Tensor global = sync_stats(local);
  torch::Tensor n = global.narrow(0, 2 * c, 1);
  torch::Tensor mean = global.narrow(0, 0, c) / n;
  torch::Tensor var = (global.narrow(0, c, c) / n - mean.square()).clamp_min(0);
  {
    torch::NoGradGuard ng;
    const double count = n.item<double>();
    running_mean.mul_(1 - momentum).add_(mean.to(running_mean.scalar_type()), momentum);
    running_var.mul_(1 - momentum)
        .add_(var.to(running_var.scalar_type()) * (count / std::max(count - 1, 1.0)), momentum);
    num_batches_tracked += 1;
  }
  mean = mean.to(x.scalar_type());
  torch::Tensor denom = torch::sqrt(var.to(x.scalar_type()) + eps);
  torch::Tensor scale = weight / denom;
  torch::Tensor s_eff;
  if (tau) scale = s_eff = bounded_scale(scale, tau(scale.detach()));
  auto ch = [&](const torch::Tensor& t) { return t.view({1, c, 1, 1}); };
  return {(x - ch(mean)) * ch(scale) + ch(bias), s_eff};
}

torch::Tensor BranchNormImpl::raw_eval_scale() const {
  return weight.detach() / torch::sqrt(running_var + eps);
}

std::pair<torch::Tensor, torch::Tensor> BranchNormImpl::eval_affine(const TauFn& tau) const {
  torch::Tensor s = raw_eval_scale();
  if (tau) s = bounded_scale(s, tau(s));
  return {s, bias.detach() - running_mean * s};
}

}  // namespace repvk::train
