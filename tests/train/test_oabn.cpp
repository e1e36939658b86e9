// SPDX-License-Identifier: MIT
// OABN: the stated bound (docs/method.md) holds on every channel of every merged
// layer after training, even with nearly dead channels; gradients reach every
// parameter. Plain BN violates the same bound in the same situation, which shows
// the check is not vacuous.
#include "util.h"

namespace repvk::train {
namespace {

using namespace testing;

// Largest ratio, over all blocks and channels, of the centre-tap excess
// |W[o,i,1,1] - s3_eff[o]·K3[o,i,1,1]| to (λ1+λid)·r_o, and of |s3_eff[o]| to
// κ·median|s3|. Both must stay <= 1 under OABN.
std::pair<double, double> worst_bound_ratios(RepVGGImpl& net) {
  torch::NoGradGuard ng;
  double centre = 0, row = 0;
  for (auto& b : net.blocks) {
    const auto& p = b->params;
    auto [w, bias] = b->merge();
    const bool oabn = b->norm == NormKind::Oabn;
    torch::Tensor s3 = b->bn3->eval_affine(oabn ? b->tau_3x3() : TauFn()).first;
    torch::Tensor excess = w.select(3, 1).select(2, 1) - s3.view({-1, 1}) *
                                                            b->conv3->weight.select(3, 1).select(2, 1);
    // r_o straight from the merged kernel: RMS of its off-centre taps.
    torch::Tensor sq = w.pow(2);
    torch::Tensor off = (sq.sum({1, 2, 3}) - sq.select(3, 1).select(2, 1).sum(1)) / double(b->in_ch * 8);
    torch::Tensor bound = (p.lambda_1x1 + (b->bnid ? p.lambda_id : 0.0)) * off.sqrt();
    centre = std::max(centre, (excess.abs() / bound.view({-1, 1})).max().item<double>());
    row = std::max(row, (s3.abs() / (p.kappa * b->bn3->raw_eval_scale().abs().median())).max().item<double>());
  }
  return {centre, row};
}

void train_steps(RepVGGImpl& net, int steps, uint64_t seed) {
  torch::manual_seed(seed);
  torch::optim::SGD opt(net.parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  net.train();
  for (int i = 0; i < steps; ++i) {
    torch::Tensor x = torch::randn({32, 3, 8, 8});
    x.select(1, 2).mul_(1e-3);  // a nearly constant input channel
    torch::Tensor y = torch::randint(0, 5, {32}, torch::kInt64);
    opt.zero_grad();
    torch::nn::functional::cross_entropy(net.forward(x), y).backward();
    opt.step();
  }
  net.eval();
}

TEST(Oabn, BoundHoldsOnEveryChannelAfterTraining) {
  torch::manual_seed(7);
  RepVGG net(tiny_config(NormKind::Oabn));
  train_steps(*net, 15, 8);
  auto [centre, row] = worst_bound_ratios(*net);
  EXPECT_LE(centre, 1.0 + 1e-5);
  EXPECT_LE(row, 1.0 + 1e-5);
  // Adversarial statistics: nearly dead channels in every branch.
  randomize_norms(*net, 9);
  std::tie(centre, row) = worst_bound_ratios(*net);
  EXPECT_LE(centre, 1.0 + 1e-5);
  EXPECT_LE(row, 1.0 + 1e-5);
}

TEST(Oabn, PlainBnViolatesTheSameBound) {
  torch::manual_seed(7);
  RepVGG net(tiny_config(NormKind::Bn));
  randomize_norms(*net, 9);
  EXPECT_GT(worst_bound_ratios(*net).first, 2.0);
}

TEST(Oabn, BoundedScaleIsStrictAndNearIdentityForSmallScales) {
  torch::Tensor s = torch::tensor({-1e6, -3.0, -0.01, 0.0, 0.01, 3.0, 1e6}, torch::kFloat64);
  torch::Tensor tau = torch::full({7}, 2.0, torch::kFloat64);
  torch::Tensor e = bounded_scale(s, tau);
  EXPECT_TRUE((e.abs() <= tau).all().item<bool>());
  EXPECT_NEAR(e[2].item<double>(), -0.01, 1e-6);
  EXPECT_NEAR(e[4].item<double>(), 0.01, 1e-6);
}

TEST(Oabn, GradientsReachEveryParameter) {
  torch::manual_seed(11);
  RepVGG net(tiny_config(NormKind::Oabn));
  std::vector<torch::Tensor> before;
  for (const auto& p : net->parameters()) before.push_back(p.detach().clone());
  train_steps(*net, 3, 12);
  const auto named = net->named_parameters();
  size_t i = 0;
  for (const auto& p : named) {
    EXPECT_GT((p.value() - before[i++]).abs().max().item<double>(), 0.0) << p.key() << " did not change";
  }
}

}  // namespace
}  // namespace repvk::train
