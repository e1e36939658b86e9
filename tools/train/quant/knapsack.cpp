// SPDX-License-Identifier: MIT
#include "quant/knapsack.h"

#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace repvk::train {

KnapsackSolution solve_multiple_choice_knapsack(const std::vector<std::vector<KnapsackOption>>& groups,
                                                int64_t capacity, int64_t max_cells) {
  KnapsackSolution s;
  int64_t g = 0;
  for (size_t i = 0; i < groups.size(); ++i) {
    if (groups[i].empty()) throw std::invalid_argument("knapsack: group " + std::to_string(i) + " has no option");
    int64_t lo = std::numeric_limits<int64_t>::max();
    for (const auto& o : groups[i]) {
      if (o.cost < 0) throw std::invalid_argument("knapsack: negative cost in group " + std::to_string(i));
      lo = std::min(lo, o.cost);
      g = std::gcd(g, o.cost);
    }
    s.min_cost += lo;
  }
  if (capacity < s.min_cost) return s;
  // Costs are all multiples of g, so only multiples of g below the capacity matter.
  if (g == 0) g = 1;
  const int64_t cap = capacity / g;
  const int64_t width = cap + 1;
  if (width > max_cells / std::max<int64_t>(1, int64_t(groups.size())))
    throw std::invalid_argument("knapsack: " + std::to_string(groups.size()) + " x " +
                                std::to_string(width) + " table is too large");
  const double inf = std::numeric_limits<double>::infinity();
  // best[c]: smallest value of the groups so far with summed cost exactly c (in units of g).
  const size_t cells = size_t(width);
  std::vector<double> best(cells, inf), next(cells, inf);
  best[0] = 0;
  std::vector<std::vector<int32_t>> pick(groups.size(), std::vector<int32_t>(cells, -1));
  for (size_t i = 0; i < groups.size(); ++i) {
    std::fill(next.begin(), next.end(), inf);
    for (int64_t c = 0; c < width; ++c) {
      if (best[size_t(c)] == inf) continue;
      for (size_t k = 0; k < groups[i].size(); ++k) {
        const int64_t to = c + groups[i][k].cost / g;
        if (to >= width) continue;
        const double v = best[size_t(c)] + groups[i][k].value;
        if (v < next[size_t(to)]) {
          next[size_t(to)] = v;
          pick[i][size_t(to)] = int32_t(k);
        }
      }
    }
    best.swap(next);
  }
  // Smallest value over all reachable costs; ties go to the smaller cost.
  int64_t at = -1;
  for (int64_t c = 0; c < width; ++c)
    if (best[size_t(c)] < inf && (at < 0 || best[size_t(c)] < best[size_t(at)])) at = c;
  if (at < 0) return s;  // unreachable when capacity >= min_cost; kept for safety
  s.feasible = true;
  s.value = 0;
  s.choice.assign(groups.size(), 0);
  int64_t c = at;
  for (size_t i = groups.size(); i-- > 0;) {
    const int32_t k = pick[i][size_t(c)];
    s.choice[i] = size_t(k);
    c -= groups[i][size_t(k)].cost / g;
  }
  for (size_t i = 0; i < groups.size(); ++i) {
    s.cost += groups[i][s.choice[i]].cost;
    s.value += groups[i][s.choice[i]].value;
  }
  return s;
}

}  // namespace repvk::train
