// SPDX-License-Identifier: MIT
// RepVGG in training form: every block is 3x3 conv+norm, 1x1 conv+norm and (when
// the shapes allow) an identity norm, summed and passed through ReLU. merge()
// folds each block into one 3x3 conv with bias (the deploy form).
#pragma once

#include "model/config.h"
#include "model/deploy.h"
#include "oabn.h"

namespace repvk::train {

class RepBlockImpl : public torch::nn::Module {
 public:
  RepBlockImpl(int64_t in, int64_t out, int64_t stride, NormKind norm, const OabnParams& p);
  torch::Tensor forward(const torch::Tensor& x);

  // Eval-mode merge into one 3x3 kernel [out,in,3,3] and bias [out].
  std::pair<torch::Tensor, torch::Tensor> merge() const;

  // OABN bounds for the current eval-mode statistics (see oabn.h); empty for plain BN.
  TauFn tau_3x3() const;
  TauFn tau_1x1(const torch::Tensor& s3_eff) const;
  TauFn tau_id(const torch::Tensor& s3_eff) const;
  // RMS over inputs and the 8 off-centre taps of (s3_eff[o] · K3[o]), per output channel.
  torch::Tensor offcentre_rms(const torch::Tensor& s3_eff) const;

  int64_t in_ch, out_ch, stride;
  NormKind norm;
  OabnParams params;
  torch::nn::Conv2d conv3{nullptr}, conv1{nullptr};
  BranchNorm bn3{nullptr}, bn1{nullptr}, bnid{nullptr};  // bnid null without identity
};
TORCH_MODULE(RepBlock);

class RepVGGImpl : public torch::nn::Module {
 public:
  explicit RepVGGImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& x);
  // Eval-mode deploy network; the training-form module is left unchanged.
  DeployNet merge();

  ModelConfig config;
  std::vector<RepBlock> blocks;
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(RepVGG);

}  // namespace repvk::train
