// SPDX-License-Identifier: MIT
// Mixed bit widths under a size budget: one width per layer, chosen to minimize the
// summed measured sensitivity (quant/sensitivity.h) subject to the budget, solved
// exactly as a multiple-choice knapsack (quant/knapsack.h).
//
// Two budgets:
//   --budget-kib K              the whole .rpvk file <= K * 1024 bytes, counted by
//                               quant/file_size.h (indices, codebooks, bias, fields);
//   --budget-bits-per-weight X  the mean index width over all weights,
//                               sum(weights_l * bits_l) / sum(weights_l) <= X
//                               (codebooks and bias not counted; the usual "average
//                               bit width" of the mixed-precision literature).
#pragma once

#include <nlohmann/json.hpp>

#include "quant/file_size.h"
#include "quant/sensitivity.h"

namespace repvk::train {

struct BudgetOptions {
  double kib = 0;              // > 0: byte budget
  double bits_per_weight = 0;  // > 0: mean-width budget
  int first_last_bits = 0;     // 0: the allocator chooses them too
  int min_bits = 1, max_bits = 8;

  bool active() const { return kib > 0 || bits_per_weight > 0; }
  std::string describe() const;  // "--budget-kib 120" / "--budget-bits-per-weight 1.5"
};

// Throws TrainError naming the flag for values out of range or contradicting each other.
void check_budget_options(const BudgetOptions& o);

struct BitAllocation {
  std::vector<int> bits;            // per layer
  uint64_t predicted_bytes = 0;     // file size (quant/file_size.h)
  double mean_bits = 0;             // weighted mean index width
  double predicted_loss_increase = 0;  // sum of the chosen layers' measured increases
};

// Throws TrainError when no allocation meets the budget, naming the smallest
// achievable size (or mean width) under the pinned constraints.
BitAllocation allocate_bits(const SensitivityTable& table, const FileSizeModel& sizes, const BudgetOptions& o);

nlohmann::json allocation_to_json(const BitAllocation& a, const SensitivityTable& table,
                                  const FileSizeModel& sizes, const BudgetOptions& o);

}  // namespace repvk::train
