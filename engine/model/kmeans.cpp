// SPDX-License-Identifier: MIT
// Deterministic 1-D k-means for codebook quantization: quantize_layer_kmeans here,
// and the trainer's ClusterQAT initialization (tools/train/quant/kmeans.cpp).
//
// In one dimension the nearest-centroid regions are intervals of the sorted data, so a
// Lloyd step is a handful of binary searches over the sorted values plus prefix sums:
// O(k log n) per iteration after one O(n log n) sort. k-means++ seeding is O(n k) and
// runs on at most kInitCandidates values (a random sample when the group is larger).
#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include "internal.h"
#include "repvk/synthetic.h"

namespace repvk {
namespace {

constexpr size_t kInitCandidates = 4096;

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

double uniform01(std::mt19937_64& g) { return double(g() >> 11) * 0x1.0p-53; }

// Weighted k-means++ over distinct sorted candidates; returns k distinct values.
// In 1-D a new centre only changes the distances of the candidates between it and
// its neighbouring centres, so updates stay local and the total is kept incrementally;
// only the sampling walk is linear.
std::vector<double> kmeanspp(const std::vector<double>& cand, const std::vector<double>& weight,
                             size_t k, std::mt19937_64& g) {
  const size_t n = cand.size();
  std::vector<double> mass(n);  // weight * squared distance to the nearest centre
  std::vector<double> centers;
  centers.reserve(k);
  auto sample = [&](const std::vector<double>& p, double total) {
    const double r = uniform01(g) * total;
    double acc = 0.0;
    size_t chosen = n;
    for (size_t j = 0; j < n; ++j) {
      if (p[j] <= 0.0) continue;
      chosen = j;  // rounding can leave r just above the final sum: keep the last viable
      acc += p[j];
      if (acc > r) break;
    }
    return chosen;
  };
  double total = 0.0;
  for (double w : weight) total += w;
  size_t j = sample(weight, total);
  total = 0.0;
  for (size_t t = 0; t < n; ++t) {
    const double d = cand[t] - cand[j];
    mass[t] = weight[t] * d * d;
    total += mass[t];
  }
  centers.push_back(cand[j]);
  while (centers.size() < k) {
    j = sample(mass, total);
    if (j == n) break;  // unreachable while candidates outnumber centres
    const double c = cand[j];
    centers.push_back(c);
    auto relax = [&](size_t t) {
      const double d = cand[t] - c;
      const double m = weight[t] * d * d;
      if (m >= mass[t]) return false;
      total -= mass[t] - m;
      mass[t] = m;
      return true;
    };
    relax(j);
    for (size_t t = j + 1; t < n && relax(t); ++t) {}
    for (size_t t = j; t > 0 && relax(t - 1); --t) {}
  }
  std::sort(centers.begin(), centers.end());
  return centers;
}

// Index of the centroid nearest to x in sorted `c` (ties go to the lower index).
size_t nearest(const std::vector<double>& c, double x) {
  const size_t hi = size_t(std::lower_bound(c.begin(), c.end(), x) - c.begin());
  if (hi == 0) return 0;
  if (hi == c.size()) return hi - 1;
  return (x - c[hi - 1] <= c[hi] - x) ? hi - 1 : hi;
}

}  // namespace

std::vector<double> kmeans_1d(std::vector<double> x, size_t k, uint64_t seed,
                              int max_iterations) {
  if (k == 0) throw std::invalid_argument("kmeans_1d: k must be at least 1");
  const size_t n = x.size();
  std::sort(x.begin(), x.end());
  std::vector<double> uniq, counts;
  for (size_t i = 0; i < n; ++i) {
    if (uniq.empty() || x[i] != uniq.back()) {
      uniq.push_back(x[i]);
      counts.push_back(0.0);
    }
    counts.back() += 1.0;
  }
  if (uniq.size() <= k) return uniq;

  std::mt19937_64 g(seed);
  std::vector<double> cand = uniq, weight = counts;
  if (uniq.size() > kInitCandidates) {
    std::vector<double> sample(kInitCandidates);
    for (auto& s : sample) s = x[size_t(g() % n)];
    std::sort(sample.begin(), sample.end());
    cand.clear();
    weight.clear();
    for (double s : sample) {
      if (cand.empty() || s != cand.back()) {
        cand.push_back(s);
        weight.push_back(0.0);
      }
      weight.back() += 1.0;
    }
    if (cand.size() < k) {  // heavily repeated values: seed from all of them instead
      cand = uniq;
      weight = counts;
    }
  }
  std::vector<double> c = kmeanspp(cand, weight, k, g);

  std::vector<double> prefix(n + 1, 0.0);
  for (size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + x[i];
  std::vector<size_t> start(k), end(k);
  for (int iter = 0; iter < max_iterations; ++iter) {
    for (size_t j = 0; j < k; ++j) {
      start[j] = j == 0 ? 0 : end[j - 1];
      if (j + 1 == k) {
        end[j] = n;
      } else {
        const double mid = c[j] + (c[j + 1] - c[j]) / 2;
        end[j] = std::max(start[j],
                          size_t(std::upper_bound(x.begin(), x.end(), mid) - x.begin()));
      }
    }
    std::vector<double> next(k);
    std::vector<size_t> empty;
    for (size_t j = 0; j < k; ++j) {
      const size_t cnt = end[j] - start[j];
      if (cnt == 0) {
        empty.push_back(j);
        continue;
      }
      const double mean = (prefix[end[j]] - prefix[start[j]]) / double(cnt);
      // The true mean lies within the cluster; clamping absorbs prefix-sum rounding
      // and keeps neighbouring centroids strictly ordered.
      next[j] = std::clamp(mean, x[start[j]], x[end[j] - 1]);
    }
    if (!empty.empty()) {
      std::vector<double> live;
      for (size_t j = 0; j < k; ++j)
        if (end[j] > start[j]) live.push_back(next[j]);
      for (size_t e : empty) {
        // Re-seed at the point farthest from its nearest centroid; it differs from
        // every centroid because k <= distinct values.
        double best = -1.0, at = x[0];
        for (size_t i = 0; i < n; ++i) {
          const double d = std::abs(x[i] - live[nearest(live, x[i])]);
          if (d > best) {
            best = d;
            at = x[i];
          }
        }
        next[e] = at;
        live.insert(std::upper_bound(live.begin(), live.end(), at), at);
      }
      std::sort(next.begin(), next.end());
    }
    if (next == c) break;
    c.swap(next);
  }
  return c;
}


void quantize_layer_kmeans(Layer& layer, uint32_t bits, CodebookGranularity granularity,
                           uint64_t seed) {
  if (!layer.has_weights() || layer.weights.encoding != WeightEncoding::Fp32)
    throw std::invalid_argument("quantize_layer_kmeans: layer has no fp32 weights");
  if (bits < 1 || bits > 8)
    throw std::invalid_argument("quantize_layer_kmeans: bits " + std::to_string(bits) +
                                " outside 1..8");
  if (granularity != CodebookGranularity::PerLayer &&
      granularity != CodebookGranularity::PerOutputChannel)
    throw std::invalid_argument("quantize_layer_kmeans: unknown granularity");
  const uint64_t rows = layer.out_channels;
  const uint64_t row = layer.row_length();
  const std::vector<float>& dense = layer.weights.dense;
  if (rows == 0 || row == 0 || dense.size() / rows != row || dense.size() % rows != 0)
    throw std::invalid_argument("quantize_layer_kmeans: weight count does not match shape");
  for (float v : dense)
    if (!std::isfinite(v))
      throw std::invalid_argument("quantize_layer_kmeans: non-finite weight");

  const size_t k = size_t(1) << bits;
  const bool per_channel = granularity == CodebookGranularity::PerOutputChannel;
  const size_t groups = per_channel ? size_t(rows) : 1;
  const size_t group_len = per_channel ? size_t(row) : dense.size();
  std::vector<std::vector<double>> books(groups);
  size_t size = 1;
  for (size_t gi = 0; gi < groups; ++gi) {
    const float* values = dense.data() + gi * group_len;
    books[gi] = kmeans_1d(std::vector<double>(values, values + group_len), k,
                          splitmix64(seed ^ splitmix64(gi + 1)));
    size = std::max(size, books[gi].size());
  }

  std::vector<uint32_t> indices(dense.size());
  std::vector<float> codebooks(groups * size);
  for (size_t gi = 0; gi < groups; ++gi) {
    // Groups with fewer distinct values repeat their last centroid; no index uses it.
    const std::vector<double>& b = books[gi];
    for (size_t j = 0; j < size; ++j) codebooks[gi * size + j] = float(b[std::min(j, b.size() - 1)]);
    // Assign against the float values actually stored so decode matches nearest search.
    std::vector<double> stored(b.size());
    for (size_t j = 0; j < b.size(); ++j) stored[j] = codebooks[gi * size + j];
    for (size_t i = 0; i < group_len; ++i) {
      const size_t at = gi * group_len + i;
      indices[at] = uint32_t(nearest(stored, dense[at]));
    }
  }
  Weights& w = layer.weights;
  w.encoding = WeightEncoding::Codebook;
  w.bits = bits;
  w.granularity = granularity;
  w.codebook_storage = ValueStorage::Fp32;
  w.dense_storage = ValueStorage::Fp32;  // no dense weights any more
  w.codebook_size = uint32_t(size);
  w.codebooks = std::move(codebooks);
  w.packed = pack_indices(indices, rows, row, bits);
  w.dense.clear();
  w.dense.shrink_to_fit();
}

}  // namespace repvk
