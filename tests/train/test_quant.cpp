// SPDX-License-Identifier: MIT
// Quantizers on the merged network: uniform levels and STE; the export of a
// ClusterQAT network decodes bit-exactly to the weights the trainer used.
#include <set>

#include "export.h"
#include "quant/cluster.h"
#include "quant/uniform.h"
#include "util.h"

namespace repvk::train {
namespace {

using namespace testing;

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

// One test over all cases: every ctest entry pays libtorch's ~1 s start-up. The
// rules of the fine-tuning itself are in test_cluster.cpp; this checks the export.
void check_cluster_export(int bits, Granularity gran) {
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
    EXPECT_EQ(layer.weights.encoding, repvk::WeightEncoding::Codebook);
    EXPECT_EQ(layer.weights.bits, uint32_t(bits));
    EXPECT_LE(layer.weights.codebook_size, 1u << bits);
    EXPECT_EQ(layer.weights.granularity, gran == Granularity::Channel
                                             ? repvk::CodebookGranularity::PerOutputChannel
                                             : repvk::CodebookGranularity::PerLayer);
    // The file decodes to exactly the weights the trainer used: codebook entries,
    // packed indices and their order all agree.
    const std::vector<float> dec = repvk::decode_weights(layer);
    const torch::Tensor flat = eff[l].contiguous().view({-1});
    ASSERT_EQ(dec.size(), size_t(flat.numel()));
    EXPECT_TRUE(torch::from_blob(const_cast<float*>(dec.data()), {flat.numel()}).equal(flat)) << "layer " << l;
    // Each group's entries are its trainer's centroids.
    const uint32_t size = layer.weights.codebook_size;
    const int64_t groups = gran == Granularity::Channel ? int64_t(layer.out_channels) : 1;
    for (int64_t g = 0; g < groups; ++g) {
      const std::set<float> own = distinct(cq.centroids[l][g]);
      for (uint32_t j = 0; j < size; ++j)
        EXPECT_TRUE(own.count(layer.weights.codebooks[size_t(g) * size + j]))
            << "layer " << l << " group " << g << " entry " << j;
    }
  }
}

TEST(ClusterQat, ExportDecodesToTheTrainersWeights) {
  for (int bits : {1, 2, 4, 8})
    for (Granularity g : {Granularity::Layer, Granularity::Channel}) {
      SCOPED_TRACE(std::to_string(bits) + " bits, " + (g == Granularity::Layer ? "per layer" : "per channel"));
      check_cluster_export(bits, g);
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
