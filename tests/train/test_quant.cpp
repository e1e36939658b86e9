// SPDX-License-Identifier: MIT
// Quantizers on the merged network. ClusterQAT: after fine-tuning each layer takes
// at most 2^b distinct values and those are exactly the exported codebook.
#include <set>

#include "export.h"
#include "quant/cluster.h"
#include "quant/uniform.h"
#include "util.h"

namespace repvk::train {
namespace {

using namespace testing;

DeployNet tiny_deploy(uint64_t seed) {
  torch::manual_seed(seed);
  RepVGG net(tiny_config(NormKind::Oabn));
  randomize_norms(*net, seed + 1);
  net->eval();
  return net->merge();
}

void fine_tune(DeployNet& net, ClusterQAT& cq, int steps) {
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  for (int i = 0; i < steps; ++i) {
    torch::Tensor x = torch::randn({16, 3, 8, 8});
    torch::Tensor y = torch::randint(0, 5, {16}, torch::kInt64);
    opt.zero_grad();
    torch::nn::functional::cross_entropy(net->forward(x), y).backward();
    opt.step();
    cq.after_step(*net);
  }
  cq.finalize(*net);
}

std::set<float> distinct(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous().to(torch::kFloat32);
  return std::set<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// One test over all cases: every ctest entry pays libtorch's ~1 s start-up.
void check_cluster_qat(int bits, Granularity gran) {
  DeployNet net = tiny_deploy(21);
  const std::vector<torch::Tensor> latent_before = [&] {
    std::vector<torch::Tensor> v;
    for (auto& w : net->weights) v.push_back(w.detach().clone());
    return v;
  }();
  ClusterOptions opt;
  opt.granularity = gran;
  opt.reassign_every = 3;
  ClusterQAT cq(*net, std::vector<int>(net->num_layers(), bits), opt);
  net->hook = [&](size_t l, const torch::Tensor& w) { return cq.forward_weight(l, w); };
  torch::manual_seed(22);
  fine_tune(net, cq, 7);

  std::vector<LayerEncoding> enc(net->num_layers(), LayerEncoding{bits, gran});
  const repvk::Model model = build_model(*net, ExportSpec{"t", 3, 8, 8, {{0, 0, 0}, {1, 1, 1}}, {"a", "b", "c", "d", "e"}}, enc);
  const auto eff = effective_weights(*net);
  size_t weighted = 0;
  for (const auto& layer : model.layers) {
    if (!layer.has_weights()) continue;
    const size_t l = weighted++;
    EXPECT_GT((net->weights[l] - latent_before[l]).abs().max().item<double>(), 0.0)
        << "latent weights of layer " << l << " did not move (no STE gradient)";
    const torch::Tensor w = eff[l].reshape({eff[l].size(0), -1});
    const int64_t groups = gran == Granularity::Channel ? w.size(0) : 1;
    const torch::Tensor rows = gran == Granularity::Channel ? w : w.reshape({1, -1});
    EXPECT_EQ(layer.weights.encoding, repvk::WeightEncoding::Codebook);
    const uint32_t size = layer.weights.codebook_size;
    for (int64_t g = 0; g < groups; ++g) {
      const auto values = distinct(rows[g]);
      EXPECT_LE(values.size(), size_t(1) << bits);
      std::set<float> book(layer.weights.codebooks.begin() + long(g * size),
                           layer.weights.codebooks.begin() + long((g + 1) * size));
      EXPECT_EQ(values, book) << "layer " << l << " group " << g;
      // The trainer's own codebook holds the same values.
      const int64_t cg = gran == Granularity::Channel ? g : 0;
      std::set<float> own = distinct(cq.centroids[l][cg].gather(0, cq.assign[l][cg]));
      EXPECT_EQ(values, own);
    }
    // The file decodes to exactly the weights the trainer used.
    const std::vector<float> dec = repvk::decode_weights(layer);
    const torch::Tensor flat = eff[l].contiguous().view({-1});
    EXPECT_EQ(dec.size(), size_t(flat.numel()));
    if (dec.size() == size_t(flat.numel())) {
      EXPECT_TRUE(torch::from_blob(const_cast<float*>(dec.data()), {flat.numel()}).equal(flat));
    }
  }
}

TEST(ClusterQat, DistinctValuesAreExactlyTheExportedCodebook) {
  for (int bits : {1, 2, 4, 8})
    for (Granularity g : {Granularity::Layer, Granularity::Channel}) {
      SCOPED_TRACE(std::to_string(bits) + " bits, " + (g == Granularity::Layer ? "per layer" : "per channel"));
      check_cluster_qat(bits, g);
    }
}

TEST(UniformQuant, PerChannelLevels) {
  torch::manual_seed(1);
  torch::Tensor w = torch::randn({6, 4, 3, 3});
  for (int bits : {1, 2, 4, 8}) {
    torch::Tensor q = uniform_quantize(w, bits);
    for (int64_t o = 0; o < 6; ++o) {
      const size_t levels = distinct(q[o]).size();
      EXPECT_LE(levels, bits == 1 ? 2u : (size_t(1) << bits) - 1);
    }
    // Symmetric: the largest magnitude of each row is represented exactly (b >= 2).
    if (bits >= 2) {
      EXPECT_TRUE(q.abs().amax({1, 2, 3}).allclose(w.abs().amax({1, 2, 3}), 1e-5, 1e-6));
    }
  }
}

TEST(UniformQuant, SteGradientIsIdentity) {
  torch::Tensor w = torch::randn({4, 9}, torch::requires_grad());
  uniform_ste(w, 3).sum().backward();
  EXPECT_TRUE(w.grad().equal(torch::ones_like(w)));
}

TEST(UniformQuant, BitsOutsideRangeAreRejected) {
  EXPECT_THROW(check_bits(0, "--bits"), TrainError);
  EXPECT_THROW(check_bits(9, "--bits"), TrainError);
  EXPECT_NO_THROW(check_bits(1, "--bits"));
  EXPECT_NO_THROW(check_bits(8, "--bits"));
}

}  // namespace
}  // namespace repvk::train
