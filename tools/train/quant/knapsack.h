// SPDX-License-Identifier: MIT
// Exact multiple-choice knapsack: pick one option from every group so the summed cost
// stays within a capacity and the summed value is smallest. Solved by dynamic
// programming over the cost (pseudo-polynomial: groups * options * capacity / g steps,
// where g is the greatest common divisor of all costs and the capacity's usable part).
// The mixed-precision allocator uses it with one group per layer, one option per
// allowed bit width, the layer's bytes (or index bits) as cost and its measured
// sensitivity as value.
#pragma once

#include <cstdint>
#include <vector>

namespace repvk::train {

struct KnapsackOption {
  int64_t cost = 0;   // >= 0
  double value = 0;   // minimized; may be negative
};

struct KnapsackSolution {
  bool feasible = false;
  std::vector<size_t> choice;  // one index per group (empty when infeasible)
  int64_t cost = 0;            // summed cost of the choice
  double value = 0;            // summed value of the choice
  int64_t min_cost = 0;        // smallest achievable summed cost (sum of group minima)
};

// Every group must have at least one option. Among choices of equal value the one with
// the smaller cost wins, then the one listed first. Throws std::invalid_argument for an
// empty group, a negative cost or a DP table above `max_cells` entries.
KnapsackSolution solve_multiple_choice_knapsack(const std::vector<std::vector<KnapsackOption>>& groups,
                                                int64_t capacity, int64_t max_cells = int64_t(1) << 28);

}  // namespace repvk::train
