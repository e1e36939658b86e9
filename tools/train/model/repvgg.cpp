// SPDX-License-Identifier: MIT
#include "model/repvgg.h"

#include <cmath>

namespace repvk::train {
namespace {

constexpr double kTauFloor = 1e-12;  // keeps s/τ finite for an all-zero kernel

}  // namespace

RepBlockImpl::RepBlockImpl(int64_t in, int64_t out, int64_t s, NormKind n, const OabnParams& p)
    : in_ch(in), out_ch(out), stride(s), norm(n), params(p) {
  using torch::nn::Conv2dOptions;
  conv3 = register_module("conv3", torch::nn::Conv2d(
                                       Conv2dOptions(in, out, 3).stride(s).padding(1).bias(false)));
  conv1 = register_module("conv1", torch::nn::Conv2d(Conv2dOptions(in, out, 1).stride(s).bias(false)));
  // OABN starts the 1x1 and identity branches near, not beyond, their bounds: with
  // He-initialized kernels the raw ratios s1·max|K1|/r ≈ 3√3 and s_id/r ≈ 3.6√C_in
  // (docs/method.md), so these γ put s/τ ≈ 0.5-1 where tanh still passes gradient.
  const bool oabn = n == NormKind::Oabn;
  bn3 = register_module("bn3", BranchNorm(out, 1.0));
  bn1 = register_module("bn1", BranchNorm(out, oabn ? 1.0 / 3.0 : 1.0));
  if (in == out && s == 1)
    bnid = register_module("bnid", BranchNorm(out, oabn ? 1.0 / (3.0 * std::sqrt(double(in))) : 1.0));
}

torch::Tensor RepBlockImpl::offcentre_rms(const torch::Tensor& s3_eff) const {
  torch::Tensor k = conv3->weight.detach();
  torch::Tensor all = k.pow(2).sum({1, 2, 3});
  torch::Tensor centre = k.select(3, 1).select(2, 1).pow(2).sum(1);
  torch::Tensor rms = torch::sqrt((all - centre).clamp_min(0) / double(in_ch * 8));
  return s3_eff.detach().abs() * rms;
}

TauFn RepBlockImpl::tau_3x3() const {
  const double kappa = params.kappa;
  return [kappa](const torch::Tensor& s) {
    return (kappa * s.abs().median()).clamp_min(kTauFloor).expand_as(s);
  };
}

TauFn RepBlockImpl::tau_1x1(const torch::Tensor& s3_eff) const {
  torch::Tensor kmax = conv1->weight.detach().abs().amax({1, 2, 3});
  torch::Tensor tau = (params.lambda_1x1 * offcentre_rms(s3_eff) / kmax.clamp_min(kTauFloor))
                          .clamp_min(kTauFloor);
  return [tau](const torch::Tensor&) { return tau; };
}

TauFn RepBlockImpl::tau_id(const torch::Tensor& s3_eff) const {
  torch::Tensor tau = (params.lambda_id * offcentre_rms(s3_eff)).clamp_min(kTauFloor);
  return [tau](const torch::Tensor&) { return tau; };
}

torch::Tensor RepBlockImpl::forward(const torch::Tensor& x) {
  const bool oabn = norm == NormKind::Oabn;
  auto b3 = bn3(conv3(x), oabn ? tau_3x3() : TauFn());
  torch::Tensor sum = b3.y + bn1(conv1(x), oabn ? tau_1x1(b3.scale) : TauFn()).y;
  if (bnid) sum = sum + bnid(x, oabn ? tau_id(b3.scale) : TauFn()).y;
  return torch::relu(sum);
}

std::pair<torch::Tensor, torch::Tensor> RepBlockImpl::merge() const {
  torch::NoGradGuard ng;
  const bool oabn = norm == NormKind::Oabn;
  auto [a3, c3] = bn3->eval_affine(oabn ? tau_3x3() : TauFn());
  torch::Tensor w = conv3->weight.detach() * a3.view({-1, 1, 1, 1});
  torch::Tensor b = c3.clone();
  auto [a1, c1] = bn1->eval_affine(oabn ? tau_1x1(a3) : TauFn());
  // The 1x1 and identity branches land on the kernel centre: this is where the
  // outliers of plain RepVGG come from.
  w.select(3, 1).select(2, 1).add_(conv1->weight.detach().view({out_ch, in_ch}) * a1.view({-1, 1}));
  b += c1;
  if (bnid) {
    auto [ai, ci] = bnid->eval_affine(oabn ? tau_id(a3) : TauFn());
    w.select(3, 1).select(2, 1).diagonal().add_(ai);
    b += ci;
  }
  return {w, b};
}

RepVGGImpl::RepVGGImpl(const ModelConfig& c) : config(c) {
  validate_config(c);
  const auto widths = c.widths();
  int64_t in = c.in_channels;
  for (size_t st = 0; st < c.depths.size(); ++st) {
    for (int64_t d = 0; d < c.depths[st]; ++d) {
      const int64_t s = d == 0 ? c.strides[st] : 1;
      blocks.push_back(register_module("block" + std::to_string(blocks.size()),
                                       RepBlock(in, widths[st], s, c.norm, c.oabn)));
      in = widths[st];
    }
  }
  fc = register_module("fc", torch::nn::Linear(in, c.num_classes));
}

torch::Tensor RepVGGImpl::forward(const torch::Tensor& input) {
  torch::Tensor x = input;
  for (auto& b : blocks) x = b(x);
  return fc(x.mean({2, 3}));
}

DeployNet RepVGGImpl::merge() {
  DeployNet net;
  for (auto& b : blocks) {
    auto [w, bias] = b->merge();
    net->add_conv(w, bias, b->stride);
  }
  net->set_fc(fc->weight.detach(), fc->bias.detach());
  return net;
}

}  // namespace repvk::train
