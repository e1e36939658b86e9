// SPDX-License-Identifier: MIT
#include "model/deploy.h"

namespace repvk::train {

void DeployNetImpl::add_conv(const torch::Tensor& weight, const torch::Tensor& bias,
                             int64_t stride) {
  const std::string i = std::to_string(weights.size());
  weights.push_back(register_parameter("w" + i, weight.detach().clone()));
  biases.push_back(register_parameter("b" + i, bias.detach().clone()));
  strides.push_back(stride);
}

void DeployNetImpl::set_fc(const torch::Tensor& weight, const torch::Tensor& bias) {
  weights.push_back(register_parameter("fc_w", weight.detach().clone()));
  biases.push_back(register_parameter("fc_b", bias.detach().clone()));
}

torch::Tensor DeployNetImpl::forward(const torch::Tensor& input) {
  torch::Tensor x = input;
  const size_t convs = strides.size();
  for (size_t l = 0; l < convs; ++l) {
    torch::Tensor w = hook ? hook(l, weights[l]) : weights[l];
    x = torch::relu(torch::conv2d(x, w, biases[l], strides[l], 1));
  }
  x = x.mean({2, 3});
  torch::Tensor w = hook ? hook(convs, weights[convs]) : weights[convs];
  return torch::linear(x, w, biases[convs]);
}

std::vector<torch::Tensor> effective_weights(DeployNetImpl& net) {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> out;
  for (size_t l = 0; l < net.num_layers(); ++l)
    out.push_back((net.hook ? net.hook(l, net.weights[l]) : net.weights[l]).detach().clone());
  return out;
}

}  // namespace repvk::train
