// SPDX-License-Identifier: MIT
// 1-D k-means: known centroids, nearest-centroid assignments, empty clusters,
// reproducibility.
#include <gtest/gtest.h>

#include "quant/kmeans.h"

namespace repvk::train {
namespace {

TEST(KMeans, RecoversKnownCentroids) {
  // Three tight, symmetric groups: their exact means are -1, 0 and 2.
  std::vector<double> v = {-1.01, -0.99, -1.0, 0.02, -0.02, 0.0, 1.97, 2.03, 2.0, 2.0};
  torch::Tensor data = torch::tensor(v, torch::kFloat64).view({1, -1});
  auto r = kmeans_1d(data, 3, 42);
  torch::Tensor c = std::get<0>(r.centroids.sort(1)).view({-1});
  EXPECT_NEAR(c[0].item<double>(), -1.0, 1e-12);
  EXPECT_NEAR(c[1].item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(c[2].item<double>(), 2.0, 1e-12);
  // Members of one group share a cluster.
  auto a = r.assign.view({-1});
  EXPECT_EQ(a[0].item<int64_t>(), a[1].item<int64_t>());
  EXPECT_EQ(a[6].item<int64_t>(), a[9].item<int64_t>());
  EXPECT_NE(a[0].item<int64_t>(), a[3].item<int64_t>());
}

TEST(KMeans, AssignmentsAreNearestCentroid) {
  torch::manual_seed(1);
  torch::Tensor data = torch::randn({3, 500});
  for (int64_t k : {1, 2, 5, 16}) {
    auto r = kmeans_1d(data, k, 7);
    torch::Tensor dist = (data.unsqueeze(2) - r.centroids.unsqueeze(1)).abs();  // [G,n,k]
    torch::Tensor own = dist.gather(2, r.assign.unsqueeze(2)).squeeze(2);
    EXPECT_TRUE((own <= std::get<0>(dist.min(2)) + 1e-6).all().item<bool>()) << "k=" << k;
    // Every centroid is the mean of its members.
    EXPECT_TRUE(cluster_means(data, r.assign, r.centroids).allclose(r.centroids, 1e-5, 1e-6));
  }
}

TEST(KMeans, EmptyClustersGetTheWorstServedValue) {
  torch::Tensor data = torch::tensor({0.0, 0.1, 0.2, 5.0, 5.1}, torch::kFloat64).view({1, -1});
  torch::Tensor c = torch::tensor({0.1, 5.05, 100.0, -100.0}, torch::kFloat64).view({1, -1});
  torch::Tensor a = assign_nearest(data, c);
  fill_empty_clusters(data, c, a);
  torch::Tensor counts;
  cluster_means(data, a, c, &counts);
  EXPECT_TRUE((counts > 0).all().item<bool>());
  EXPECT_TRUE((a >= 0).logical_and(a < 4).all().item<bool>());
}

TEST(KMeans, FewerDistinctValuesThanClusters) {
  torch::Tensor data = torch::tensor({1.0, 1.0, 2.0, 2.0, 3.0, 1.0}, torch::kFloat32).view({1, -1});
  auto r = kmeans_1d(data, 8, 3);
  EXPECT_TRUE(torch::isfinite(r.centroids).all().item<bool>());
  EXPECT_TRUE((r.assign >= 0).logical_and(r.assign < 8).all().item<bool>());
  // Every value is represented exactly.
  EXPECT_TRUE(r.centroids.gather(1, r.assign).equal(data));
}

TEST(KMeans, SameSeedSameResult) {
  torch::manual_seed(2);
  torch::Tensor data = torch::randn({2, 3000});
  auto a = kmeans_1d(data, 16, 99), b = kmeans_1d(data, 16, 99);
  EXPECT_TRUE(a.centroids.equal(b.centroids));
  EXPECT_TRUE(a.assign.equal(b.assign));
}

}  // namespace
}  // namespace repvk::train
