// SPDX-License-Identifier: MIT
#include "quant/bit_allocation.h"

#include <cmath>
#include <cstdio>

#include "quant/knapsack.h"
#include "quant/uniform.h"

namespace repvk::train {
namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// The widths layer l may take.
std::vector<int> allowed_bits(const BudgetOptions& o, size_t l, size_t layers) {
  if (o.first_last_bits > 0 && (l == 0 || l + 1 == layers)) return {o.first_last_bits};
  std::vector<int> v;
  for (int b = o.min_bits; b <= o.max_bits; ++b) v.push_back(b);
  return v;
}

std::string constraints(const BudgetOptions& o) {
  std::string s = "widths " + std::to_string(o.min_bits) + ".." + std::to_string(o.max_bits);
  if (o.first_last_bits > 0) s += ", first conv and fc at " + std::to_string(o.first_last_bits) + " bits";
  return s;
}

}  // namespace

std::string BudgetOptions::describe() const {
  if (kib > 0) return "--budget-kib " + fmt("%g", kib);
  return "--budget-bits-per-weight " + fmt("%g", bits_per_weight);
}

void check_budget_options(const BudgetOptions& o) {
  if (o.kib > 0 && o.bits_per_weight > 0)
    throw TrainError("--budget-kib and --budget-bits-per-weight exclude each other: give one");
  if (o.kib < 0 || std::isnan(o.kib) || std::isinf(o.kib))
    throw TrainError("--budget-kib must be a positive number of KiB, got " + fmt("%g", o.kib));
  if (o.bits_per_weight < 0 || std::isnan(o.bits_per_weight) || std::isinf(o.bits_per_weight))
    throw TrainError("--budget-bits-per-weight must be a positive number, got " + fmt("%g", o.bits_per_weight));
  check_bits(o.min_bits, "--min-bits");
  check_bits(o.max_bits, "--max-bits");
  if (o.min_bits > o.max_bits)
    throw TrainError("--min-bits " + std::to_string(o.min_bits) + " is above --max-bits " +
                     std::to_string(o.max_bits));
  if (o.first_last_bits != 0) check_bits(o.first_last_bits, "--first-last-bits");
}

BitAllocation allocate_bits(const SensitivityTable& table, const FileSizeModel& sizes, const BudgetOptions& o) {
  check_budget_options(o);
  if (!o.active()) throw std::logic_error("allocate_bits: no budget");
  const size_t layers = sizes.layer_bytes.size();
  if (table.loss_increase.size() != layers)
    throw TrainError("the sensitivity table has " + std::to_string(table.loss_increase.size()) +
                     " layers but the network has " + std::to_string(layers));
  const bool bytes = o.kib > 0;
  uint64_t total_weights = 0;
  for (uint64_t n : sizes.layer_weights) total_weights += n;
  std::vector<std::vector<KnapsackOption>> groups(layers);
  std::vector<std::vector<int>> widths(layers);
  for (size_t l = 0; l < layers; ++l) {
    widths[l] = allowed_bits(o, l, layers);
    for (int b : widths[l]) {
      const int64_t cost = bytes ? int64_t(sizes.layer_bytes[l][size_t(b - 1)])
                                 : int64_t(sizes.layer_weights[l]) * b;
      groups[l].push_back({cost, table.loss_increase[l][size_t(b - 1)]});
    }
  }
  // Capacity: the layers' share of the byte budget, or the index bits the mean allows
  // (a hair of slack so 1.5 * n is not lost to rounding).
  const int64_t capacity =
      bytes ? int64_t(std::floor(o.kib * 1024.0)) - int64_t(sizes.fixed_bytes)
            : int64_t(std::floor(o.bits_per_weight * double(total_weights) + 1e-6));
  const KnapsackSolution s = solve_multiple_choice_knapsack(groups, capacity);
  if (!s.feasible) {
    if (bytes) {
      const uint64_t min_bytes = uint64_t(s.min_cost) + sizes.fixed_bytes;
      throw TrainError(o.describe() + " is below the smallest model these constraints allow (" +
                       constraints(o) + "): " + fmt("%.2f", double(min_bytes) / 1024.0) + " KiB (" +
                       std::to_string(min_bytes) + " bytes); raise the budget or relax the constraints");
    }
    throw TrainError(o.describe() + " is below the smallest mean width these constraints allow (" +
                     constraints(o) + "): " + fmt("%.4f", double(s.min_cost) / double(total_weights)) +
                     " bits per weight; raise the budget or relax the constraints");
  }
  BitAllocation a;
  for (size_t l = 0; l < layers; ++l) a.bits.push_back(widths[l][s.choice[l]]);
  a.predicted_bytes = sizes.file_bytes(a.bits);
  a.mean_bits = sizes.mean_bits(a.bits);
  a.predicted_loss_increase = s.value;
  return a;
}

nlohmann::json allocation_to_json(const BitAllocation& a, const SensitivityTable& table,
                                  const FileSizeModel& sizes, const BudgetOptions& o) {
  nlohmann::json layers = nlohmann::json::array();
  for (size_t l = 0; l < a.bits.size(); ++l)
    layers.push_back({{"name", table.layers[l]},
                      {"weights", sizes.layer_weights[l]},
                      {"bits", a.bits[l]},
                      {"bytes", sizes.layer_bytes[l][size_t(a.bits[l] - 1)]},
                      {"loss_increase", table.loss_increase[l][size_t(a.bits[l] - 1)]}});
  nlohmann::json budget = {{"min_bits", o.min_bits}, {"max_bits", o.max_bits},
                           {"first_last_bits", o.first_last_bits}};
  if (o.kib > 0) {
    budget["kib"] = o.kib;
    budget["bytes"] = uint64_t(std::floor(o.kib * 1024.0));
  } else {
    budget["bits_per_weight"] = o.bits_per_weight;
  }
  return {{"budget", budget},
          {"layers", layers},
          {"predicted_bytes", a.predicted_bytes},
          {"mean_bits", a.mean_bits},
          {"predicted_loss_increase", a.predicted_loss_increase}};
}

}  // namespace repvk::train
