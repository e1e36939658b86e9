// SPDX-License-Identifier: MIT
// Tiny configurations shared by the trainer tests: small enough to train a few steps
// in well under a second on one core.
#pragma once

#include <gtest/gtest.h>

#include "data/dataset.h"
#include "model/repvgg.h"

namespace repvk::train::testing {

// Covers every block shape: no identity (channel change), identity (stride 1, same
// width) and stride 2.
inline ModelConfig tiny_config(NormKind norm) {
  ModelConfig c;
  c.preset = "tiny";
  c.in_channels = 3;
  c.height = c.width = 8;
  c.num_classes = 5;
  c.depths = {1, 2, 2};
  c.base_widths = {6, 6, 8};
  c.strides = {1, 1, 2};
  c.norm = norm;
  return c;
}

// Non-trivial BN statistics and affine parameters, including a few channels with
// tiny variance (the case that makes plain RepVGG's merged kernels explode).
inline void randomize_norms(RepVGGImpl& net, uint64_t seed) {
  torch::NoGradGuard ng;
  torch::manual_seed(seed);
  for (auto& b : net.blocks) {
    for (BranchNorm* bn : {&b->bn3, &b->bn1, &b->bnid}) {
      if (!*bn) continue;
      auto& m = **bn;
      const int64_t c = m.weight.size(0);
      m.running_mean.copy_(torch::randn({c}) * 0.5);
      m.running_var.copy_(torch::rand({c}) * 2 + 0.1);
      m.running_var[0] = 1e-4;  // a nearly dead channel
      m.weight.copy_(torch::randn({c}) * 0.5 + 1);
      m.bias.copy_(torch::randn({c}) * 0.3);
    }
  }
}

// Random uint8 images with labels that depend on the image, so training has signal.
// A small OABN RepVGG with randomized norms, merged for deployment.
inline DeployNet tiny_deploy(uint64_t seed) {
  torch::manual_seed(seed);
  RepVGG net(tiny_config(NormKind::Oabn));
  randomize_norms(*net, seed + 1);
  net->eval();
  return net->merge();
}

inline Dataset synthetic_dataset(int64_t n, int64_t c, int64_t hw, int64_t classes, uint64_t seed) {
  torch::manual_seed(seed);
  Dataset d;
  d.name = "synthetic";
  d.images = torch::randint(0, 256, {n, c, hw, hw}, torch::kUInt8);
  d.labels = d.images.to(torch::kInt64).sum({1, 2, 3}).div(7, "floor").remainder(classes);
  for (int64_t k = 0; k < classes; ++k) d.class_names.push_back("c" + std::to_string(k));
  return d;
}

inline double max_rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs().max() / a.abs().max().clamp_min(1e-12)).item<double>();
}

}  // namespace repvk::train::testing
