// SPDX-License-Identifier: MIT
// The merged (deploy) network: conv3x3+bias+ReLU layers, global average pool, fc.
// Exactly the layer sequence the engine runs. Its weights are trainable parameters
// ("latent" weights) so the quantizers can fine-tune it; a per-layer weight hook
// substitutes the quantized weights in the forward pass.
#pragma once

#include <functional>

#include "common.h"

namespace repvk::train {

class DeployNetImpl : public torch::nn::Module {
 public:
  DeployNetImpl() = default;
  // Appends a conv layer (weight [O,I,3,3]) or, last, the fc layer (weight [O,I]).
  void add_conv(const torch::Tensor& weight, const torch::Tensor& bias, int64_t stride);
  void set_fc(const torch::Tensor& weight, const torch::Tensor& bias);

  torch::Tensor forward(const torch::Tensor& x);

  size_t num_layers() const { return weights.size(); }  // convs + fc
  bool is_fc(size_t layer) const { return layer + 1 == weights.size(); }

  // Maps (layer, latent weight) to the weight used in the forward pass.
  using WeightHook = std::function<torch::Tensor(size_t, const torch::Tensor&)>;
  WeightHook hook;

  std::vector<torch::Tensor> weights, biases;
  std::vector<int64_t> strides;  // convs only
};
TORCH_MODULE(DeployNet);

// The weights actually used by the forward pass (after the hook), detached.
std::vector<torch::Tensor> effective_weights(DeployNetImpl& net);

}  // namespace repvk::train
