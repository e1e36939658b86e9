// SPDX-License-Identifier: MIT
#include "quant/kmeans.h"

#include <algorithm>

#include "repvk/synthetic.h"

namespace repvk::train {

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
  // Each row through the engine's k-means (repvk/synthetic.h), the one the model
  // library quantizes with.
  torch::Tensor init = torch::empty({g, k}, torch::kFloat64);
  for (int64_t row = 0; row < g; ++row) {
    const double* v = cpu.data_ptr<double>() + row * n;
    const std::vector<double> c =
        repvk::kmeans_1d(std::vector<double>(v, v + n), size_t(k),
                         mix_seed(seed, 0xC1057E7, uint64_t(row)), iters);
    // Fewer distinct values than k: the spare clusters repeat the last centroid; the
    // assignment below leaves them empty (fill_empty_clusters finds nothing to move).
    double* out = init.data_ptr<double>() + row * k;
    for (int64_t j = 0; j < k; ++j)
      out[j] = c.empty() ? 0.0 : c[std::min(size_t(j), c.size() - 1)];
  }
  // Assignments and means on the caller's device and at full precision.
  torch::Tensor x = data.detach().to(torch::kFloat64);
  torch::Tensor centroids = init.to(x.device());
  torch::Tensor assign = assign_nearest(x, centroids);
  fill_empty_clusters(x, centroids, assign);
  centroids = cluster_means(x, assign, centroids);
  return {centroids.to(data.scalar_type()), assign};
}

}  // namespace repvk::train
