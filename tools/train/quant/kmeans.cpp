#include "quant/kmeans.h"

#include <algorithm>
#include <random>

namespace repvk::train {
namespace {

// k-means++ seeding costs O(n·k); beyond this many values a fixed random subset
// seeds the row (Lloyd then runs on all values).
constexpr int64_t kSeedCandidates = 8192;

double uniform01(std::mt19937_64& g) { return double(g() >> 11) * 0x1.0p-53; }

std::vector<double> kmeanspp_row(const double* v, int64_t n, int64_t k, std::mt19937_64& g) {
  std::vector<double> cand(v, v + n);
  if (n > kSeedCandidates) {
    // Partial Fisher-Yates: the first kSeedCandidates entries become a uniform sample.
    for (int64_t i = 0; i < kSeedCandidates; ++i)
      std::swap(cand[size_t(i)], cand[size_t(i + int64_t(g() % uint64_t(n - i)))]);
    cand.resize(size_t(kSeedCandidates));
  }
  const size_t m = cand.size();
  std::vector<double> centers{cand[size_t(g() % m)]};
  std::vector<double> d2(m);
  for (size_t j = 0; j < m; ++j) d2[j] = (cand[j] - centers[0]) * (cand[j] - centers[0]);
  while (int64_t(centers.size()) < k) {
    double total = 0;
    for (double d : d2) total += d;
    if (total <= 0) {
      centers.push_back(centers.back());  // fewer distinct values than k
      continue;
    }
    const double r = uniform01(g) * total;
    double acc = 0;
    size_t pick = m - 1;
    for (size_t j = 0; j < m; ++j) {
      acc += d2[j];
      if (acc > r && d2[j] > 0) {
        pick = j;
        break;
      }
    }
    // Rounding can leave r at the very end of the sum: fall back to the farthest value.
    if (d2[pick] <= 0) pick = size_t(std::max_element(d2.begin(), d2.end()) - d2.begin());
    const double c = cand[pick];
    centers.push_back(c);
    for (size_t j = 0; j < m; ++j) d2[j] = std::min(d2[j], (cand[j] - c) * (cand[j] - c));
  }
  return centers;
}

}  // namespace

torch::Tensor assign_nearest(const torch::Tensor& data, const torch::Tensor& centroids) {
  auto [sorted, perm] = centroids.sort(1);
  const int64_t k = centroids.size(1);
  if (k == 1) return torch::zeros_like(data, torch::kInt64);
  torch::Tensor mids = ((sorted.narrow(1, 1, k - 1) + sorted.narrow(1, 0, k - 1)) * 0.5).contiguous();
  torch::Tensor pos = torch::searchsorted(mids, data.contiguous());
  return perm.gather(1, pos);
}

torch::Tensor cluster_means(const torch::Tensor& data, const torch::Tensor& assign,
                            const torch::Tensor& centroids, torch::Tensor* counts) {
  const int64_t g = centroids.size(0), k = centroids.size(1);
  torch::Tensor flat =
      (assign + torch::arange(g, assign.options()).view({-1, 1}) * k).reshape({-1});
  auto opts = data.options().dtype(torch::kFloat64);
  torch::Tensor sums = torch::zeros({g * k}, opts).index_add_(0, flat, data.reshape({-1}).to(torch::kFloat64));
  torch::Tensor cnt = torch::zeros({g * k}, opts).index_add_(0, flat, torch::ones_like(flat, opts));
  sums = sums.view({g, k});
  cnt = cnt.view({g, k});
  if (counts) *counts = cnt;
  return torch::where(cnt > 0, sums / cnt.clamp_min(1), centroids.to(torch::kFloat64))
      .to(centroids.scalar_type());
}

void fill_empty_clusters(const torch::Tensor& data, torch::Tensor& centroids, torch::Tensor& assign) {
  torch::Tensor counts;
  cluster_means(data, assign, centroids, &counts);
  if (!(counts == 0).any().item<bool>()) return;
  // Rare and sequential by nature: done on the CPU, then copied back.
  torch::Tensor d = data.to(torch::kCPU, torch::kFloat64).contiguous();
  torch::Tensor c = centroids.to(torch::kCPU, torch::kFloat64).contiguous();
  torch::Tensor a = assign.to(torch::kCPU).contiguous();
  torch::Tensor n = counts.to(torch::kCPU).contiguous();
  auto da = d.accessor<double, 2>();
  auto ca = c.accessor<double, 2>();
  auto aa = a.accessor<int64_t, 2>();
  auto na = n.accessor<double, 2>();
  for (int64_t g = 0; g < d.size(0); ++g) {
    for (int64_t e = 0; e < c.size(1); ++e) {
      if (na[g][e] > 0) continue;
      int64_t worst = -1;
      double worst_err = 0;
      for (int64_t i = 0; i < d.size(1); ++i) {
        const int64_t own = aa[g][i];
        const double err = std::abs(da[g][i] - ca[g][own]);
        if (na[g][own] > 1 && err > worst_err) {
          worst_err = err;
          worst = i;
        }
      }
      if (worst < 0) break;  // every value already sits on its centroid
      na[g][aa[g][worst]] -= 1;
      aa[g][worst] = e;
      na[g][e] = 1;
      ca[g][e] = da[g][worst];
    }
  }
  centroids = c.to(centroids.device(), centroids.scalar_type());
  assign = a.to(assign.device());
}

KMeansResult kmeans_1d(const torch::Tensor& data, int64_t k, uint64_t seed, int iters) {
  TORCH_CHECK(data.dim() == 2 && k >= 1, "kmeans_1d: data must be [G,n], k >= 1");
  torch::Tensor cpu = data.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const int64_t g = cpu.size(0), n = cpu.size(1);
  torch::Tensor init = torch::empty({g, k}, torch::kFloat64);
  for (int64_t row = 0; row < g; ++row) {
    std::mt19937_64 rng(mix_seed(seed, 0xC1057E7, uint64_t(row)));
    const auto c = kmeanspp_row(cpu.data_ptr<double>() + row * n, n, k, rng);
    std::copy(c.begin(), c.end(), init.data_ptr<double>() + row * k);
  }
  torch::Tensor x = data.detach().to(torch::kFloat64);
  torch::Tensor centroids = init.to(x.device());
  torch::Tensor assign = assign_nearest(x, centroids);
  fill_empty_clusters(x, centroids, assign);
  for (int it = 0; it < iters; ++it) {
    centroids = cluster_means(x, assign, centroids);
    torch::Tensor next = assign_nearest(x, centroids);
    const bool same = next.equal(assign);
    assign = next;
    fill_empty_clusters(x, centroids, assign);
    if (same) break;
  }
  centroids = cluster_means(x, assign, centroids);
  return {centroids.to(data.scalar_type()), assign};
}

}  // namespace repvk::train
