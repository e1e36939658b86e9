// SPDX-License-Identifier: MIT
// ClusterQAT against the rules quant/cluster.h states, each checked by an
// independent computation here (not the trainer's own k-means helpers):
//  - after every optimizer step each centroid is the mean of its members' latent
//    weights (a cluster is empty only when its group has fewer distinct values than k);
//  - the forward pass uses exactly C[A];
//  - after finalize every latent weight is assigned to its nearest centroid;
//  - fine-tuning ends at a loss no higher than plain k-means of the same weights on
//    the same data.
#include "quant/cluster.h"
#include "util.h"

namespace repvk::train {
namespace {

using namespace testing;

// A fixed training set with a learnable label (the mean brightness of one channel
// half), so loss on it can go down.
struct Batch {
  torch::Tensor x, y;
};
Batch fixed_data(uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor x = torch::randn({64, 3, 8, 8});
  torch::Tensor score = x.narrow(1, 0, 1).narrow(2, 0, 4).mean({1, 2, 3});
  torch::Tensor y = (score * 8 + 2.5).clamp(0, 4.99).floor().to(torch::kInt64);
  return {x, y};
}

torch::Tensor rows_of(const torch::Tensor& w, Granularity g) {
  return g == Granularity::Channel ? w.reshape({w.size(0), -1}) : w.reshape({1, -1});
}

std::string where(size_t l, int64_t g, int64_t k) {
  return "layer " + std::to_string(l) + " group " + std::to_string(g) + " centroid " + std::to_string(k);
}

// Rule: C[g,k] = mean{W[g,j] : A[g,j] = k}, computed here with a one-hot sum in
// float64. An empty cluster is allowed only in a group with fewer than k distinct
// values. Returns the number of violations (each one reported).
int check_means(const ClusterQAT& cq, DeployNetImpl& net, Granularity gran, const std::string& when) {
  int bad = 0;
  for (size_t l = 0; l < net.num_layers(); ++l) {
    const torch::Tensor w = rows_of(net.weights[l].detach(), gran).to(torch::kFloat64);
    const torch::Tensor c = cq.centroids[l].to(torch::kFloat64);
    const int64_t k = c.size(1);
    const torch::Tensor onehot = torch::one_hot(cq.assign[l], k).to(torch::kFloat64);  // [G,n,k]
    const torch::Tensor counts = onehot.sum(1);
    const torch::Tensor means = (w.unsqueeze(2) * onehot).sum(1) / counts.clamp_min(1);
    const double scale = w.abs().max().item<double>();
    for (int64_t g = 0; g < c.size(0); ++g) {
      const int64_t distinct = std::get<0>(torch::_unique(w[g])).numel();
      for (int64_t j = 0; j < k; ++j) {
        if (counts[g][j].item<double>() == 0) {
          if (distinct >= k) {
            ADD_FAILURE() << when << ": " << where(l, g, j) << " is empty although the group has "
                          << distinct << " distinct values";
            ++bad;
          }
          continue;
        }
        const double want = means[g][j].item<double>(), got = c[g][j].item<double>();
        if (std::abs(want - got) > 1e-6 * scale) {
          ADD_FAILURE() << when << ": " << where(l, g, j) << " is " << got
                        << ", its members' mean is " << want;
          if (++bad > 5) return bad;
        }
      }
    }
  }
  return bad;
}

// Rule: each latent weight's own centroid is (one of) its nearest.
int check_nearest(const ClusterQAT& cq, DeployNetImpl& net, Granularity gran) {
  int bad = 0;
  for (size_t l = 0; l < net.num_layers(); ++l) {
    const torch::Tensor w = rows_of(net.weights[l].detach(), gran).to(torch::kFloat64);
    const torch::Tensor c = cq.centroids[l].to(torch::kFloat64);
    const torch::Tensor dist = (w.unsqueeze(2) - c.unsqueeze(1)).abs();  // [G,n,k]
    const torch::Tensor own = dist.gather(2, cq.assign[l].unsqueeze(2)).squeeze(2);
    const auto [best, arg] = dist.min(2);
    const torch::Tensor excess = own - best;
    const double scale = w.abs().max().item<double>();
    const auto [worst, at] = excess.reshape({-1}).max(0);
    if (worst.item<double>() > 1e-6 * scale) {
      const int64_t i = at.item<int64_t>(), n = w.size(1);
      ADD_FAILURE() << "layer " << l << ": weight " << w.reshape({-1})[i].item<double>() << " (group "
                    << i / n << ") is assigned centroid " << cq.assign[l].reshape({-1})[i].item<int64_t>()
                    << " at distance " << own.reshape({-1})[i].item<double>() << " but centroid "
                    << arg.reshape({-1})[i].item<int64_t>() << " is at " << best.reshape({-1})[i].item<double>();
      ++bad;
    }
  }
  return bad;
}

// Rule: the forward pass uses exactly C[A].
void check_forward_is_codebook(const ClusterQAT& cq, DeployNetImpl& net, Granularity gran) {
  const auto eff = effective_weights(net);
  for (size_t l = 0; l < net.num_layers(); ++l) {
    const torch::Tensor q = cq.centroids[l].gather(1, cq.assign[l]);
    EXPECT_TRUE(rows_of(eff[l], gran).equal(q)) << "layer " << l;
  }
}

double loss_on(DeployNetImpl& net, const Batch& b) {
  torch::NoGradGuard ng;
  return torch::nn::functional::cross_entropy(net.forward(b.x), b.y).item<double>();
}

ClusterQAT attach(DeployNet& net, int bits, Granularity gran) {
  ClusterOptions opt;
  opt.granularity = gran;
  opt.reassign_every = 3;
  ClusterQAT cq(*net, std::vector<int>(net->num_layers(), bits), opt);
  return cq;
}

void check_rules(int bits, Granularity gran) {
  DeployNet net = tiny_deploy(21);
  ClusterQAT cq = attach(net, bits, gran);
  net->hook = [&](size_t l, const torch::Tensor& w) { return cq.forward_weight(l, w); };
  ASSERT_EQ(check_means(cq, *net, gran, "after k-means"), 0);
  ASSERT_EQ(check_nearest(cq, *net, gran), 0) << "after k-means";
  const Batch data = fixed_data(5);
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  for (int step = 1; step <= 7; ++step) {
    opt.zero_grad();
    torch::nn::functional::cross_entropy(net->forward(data.x), data.y).backward();
    opt.step();
    cq.after_step(*net);
    ASSERT_EQ(check_means(cq, *net, gran, "after step " + std::to_string(step)), 0);
    check_forward_is_codebook(cq, *net, gran);
  }
  cq.finalize(*net);
  EXPECT_EQ(check_means(cq, *net, gran, "after finalize"), 0);
  EXPECT_EQ(check_nearest(cq, *net, gran), 0) << "after finalize";
  check_forward_is_codebook(cq, *net, gran);
  // At most 2^b values per group, and (with enough distinct latent values) all of them used.
  for (size_t l = 0; l < net->num_layers(); ++l) {
    const torch::Tensor q = rows_of(effective_weights(*net)[l], gran);
    for (int64_t g = 0; g < q.size(0); ++g) {
      const int64_t used = std::get<0>(torch::_unique(q[g])).numel();
      EXPECT_LE(used, int64_t(1) << bits) << "layer " << l << " group " << g;
      EXPECT_EQ(used, std::min<int64_t>(int64_t(1) << bits, q.size(1))) << "layer " << l << " group " << g;
    }
  }
}

TEST(ClusterQatRules, MeansNearestAndForwardWeights) {
  for (int bits : {1, 2, 4})
    for (Granularity g : {Granularity::Layer, Granularity::Channel}) {
      SCOPED_TRACE(std::to_string(bits) + " bits, " + (g == Granularity::Layer ? "per layer" : "per channel"));
      check_rules(bits, g);
    }
}

// Plain k-means of the starting weights (ClusterQAT before any step: its
// constructor's k-means, finalized) against fine-tuning from there on the same data.
TEST(ClusterQatRules, FineTuningEndsNoWorseThanPlainKMeans) {
  const Batch data = fixed_data(5);
  for (int bits : {1, 2, 3})
    for (Granularity gran : {Granularity::Layer, Granularity::Channel}) {
      SCOPED_TRACE(std::to_string(bits) + " bits, " + (gran == Granularity::Layer ? "per layer" : "per channel"));
      DeployNet plain = tiny_deploy(21);
      ClusterQAT pq = attach(plain, bits, gran);
      plain->hook = [&](size_t l, const torch::Tensor& w) { return pq.forward_weight(l, w); };
      const double plain_loss = loss_on(*plain, data);

      DeployNet tuned = tiny_deploy(21);
      ClusterQAT cq = attach(tuned, bits, gran);
      tuned->hook = [&](size_t l, const torch::Tensor& w) { return cq.forward_weight(l, w); };
      ASSERT_NEAR(loss_on(*tuned, data), plain_loss, 1e-6) << "same start, same k-means";
      torch::optim::SGD opt(tuned->parameters(), torch::optim::SGDOptions(0.02).momentum(0.9));
      for (int step = 0; step < 15; ++step) {
        opt.zero_grad();
        torch::nn::functional::cross_entropy(tuned->forward(data.x), data.y).backward();
        opt.step();
        cq.after_step(*tuned);
      }
      cq.finalize(*tuned);
      const double tuned_loss = loss_on(*tuned, data);
      EXPECT_LE(tuned_loss, plain_loss);
      // Fine-tuning on the data it is scored on must also do some good.
      EXPECT_LT(tuned_loss, plain_loss * 0.99) << "plain k-means " << plain_loss << ", fine-tuned " << tuned_loss;
    }
}

}  // namespace
}  // namespace repvk::train
