// SPDX-License-Identifier: MIT
// `repvk-train quantize --budget-kib / --budget-bits-per-weight`: measures (or loads
// the cached) per-layer sensitivity table and chooses the per-layer widths
// (quant/bit_allocation.h) that ClusterQAT then fine-tunes with.
#pragma once

#include "commands.h"
#include "export.h"

namespace repvk::train {

struct MixedPlan {
  SensitivityTable table;
  FileSizeModel sizes;
  BitAllocation allocation;  // empty bits with --sensitivity-only
  nlohmann::json report;     // for result.json
};

// `deploy` is the merged fp32 network (no hook) read from `source` (checkpoint or
// model file), `val` the held-out images.
MixedPlan plan_mixed_bits(const QuantizeCommand& cmd, const std::string& source, DeployNetImpl& deploy, const ExportSpec& spec,
                          const DataOptions& data, const Dataset& val, const Normalization& norm,
                          torch::Device dev,
                          const std::string& out_dir, bool write_cache, Logger& log);

// The file size as a function of the widths, for the merged network `deploy`.
FileSizeModel mixed_file_size_model(DeployNetImpl& deploy, const ExportSpec& spec, Granularity granularity);
// Throws TrainError (allocate_bits' message) when no widths meet the budget.
void check_budget_feasible(const FileSizeModel& sizes, const BudgetOptions& budget);

// A table of the chosen widths, bytes and sensitivities, one line per layer.
void log_allocation(const MixedPlan& plan, Logger& log);
// The whole sensitivity table, one line per layer, and the proxy's rank correlation.
void log_sensitivity(const SensitivityTable& t, Logger& log);

}  // namespace repvk::train
