// SPDX-License-Identifier: MIT
#include "quantize_budget.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace repvk::train {
namespace {

// What a cached table must match to be reused: the checkpoint's bytes, the held-out
// set and the k-means settings that make the codebooks.
nlohmann::json table_key(const QuantizeCommand& cmd, const std::string& source, const DataOptions& data,
                         int64_t val_images) {
  std::ifstream f(source, std::ios::binary);
  if (!f) throw TrainError(source + ": cannot be read");
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return {{"checkpoint_crc32", repvk::crc32(bytes.data(), bytes.size())},
          {"checkpoint_bytes", bytes.size()},
          {"dataset", data.kind},
          {"val_images", val_images},
          {"granularity", cmd.granularity == Granularity::Layer ? "layer" : "channel"},
          {"seed", cmd.train.seed},
          {"kmeans_iters", cmd.cluster.kmeans_iters}};
}

std::string num(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::vector<double> flatten(const std::vector<std::array<double, 8>>& t) {
  std::vector<double> v;
  for (const auto& r : t) v.insert(v.end(), r.begin(), r.end());
  return v;
}

}  // namespace

FileSizeModel mixed_file_size_model(DeployNetImpl& deploy, const ExportSpec& spec, Granularity granularity) {
  std::vector<LayerEncoding> fp32(deploy.num_layers(), LayerEncoding{0, granularity});
  return codebook_file_size_model(build_model(deploy, spec, fp32), granularity);
}

void check_budget_feasible(const FileSizeModel& sizes, const BudgetOptions& budget) {
  SensitivityTable zero;
  zero.layers.assign(sizes.layer_bytes.size(), "");
  zero.loss_increase.assign(sizes.layer_bytes.size(), {});
  allocate_bits(zero, sizes, budget);
}

void log_sensitivity(const SensitivityTable& t, Logger& log) {
  log.log("sensitivity (validation loss increase, " + std::to_string(t.images) +
          " held-out images, base loss " + num("%.4f", t.base_loss) + "):");
  std::string head = "  layer  ";
  for (int b = 1; b <= 8; ++b) head += "     " + std::to_string(b) + "-bit";
  log.log(head);
  for (size_t l = 0; l < t.layers.size(); ++l) {
    std::string line = "  " + t.layers[l] + std::string(7 - std::min<size_t>(6, t.layers[l].size()), ' ');
    for (double v : t.loss_increase[l]) line += num(" %+9.4f", v);
    log.log(line);
  }
  // The proxy against the measurement: over all (layer, width) pairs, and across
  // layers at each width (the ranking the allocator trades between).
  std::string per_width;
  for (size_t b = 0; b < 8; ++b) {
    std::vector<double> m, p;
    for (size_t l = 0; l < t.layers.size(); ++l) {
      m.push_back(t.loss_increase[l][b]);
      p.push_back(t.fisher_proxy[l][b]);
    }
    per_width += num(" %.2f", spearman_correlation(m, p));
  }
  log.log("Fisher proxy vs measured, Spearman rank correlation: all pairs " +
          num("%.3f", spearman_correlation(flatten(t.loss_increase), flatten(t.fisher_proxy))) +
          "; across layers at 1..8 bits:" + per_width);
}

void log_allocation(const MixedPlan& plan, Logger& log) {
  const auto& a = plan.allocation;
  log.log("mixed widths:");
  log.log("  layer    weights  bits     bytes  loss increase");
  for (size_t l = 0; l < a.bits.size(); ++l) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "  %-6s %9llu  %4d  %8llu  %+.4f", plan.table.layers[l].c_str(),
                  static_cast<unsigned long long>(plan.sizes.layer_weights[l]), a.bits[l],
                  static_cast<unsigned long long>(plan.sizes.layer_bytes[l][size_t(a.bits[l] - 1)]),
                  plan.table.loss_increase[l][size_t(a.bits[l] - 1)]);
    log.log(buf);
  }
  log.log("  predicted file size " + std::to_string(a.predicted_bytes) + " bytes (" +
          num("%.2f", double(a.predicted_bytes) / 1024.0) + " KiB), mean width " +
          num("%.4f", a.mean_bits) + " bits per weight, summed loss increase " +
          num("%+.4f", a.predicted_loss_increase));
}

MixedPlan plan_mixed_bits(const QuantizeCommand& cmd, const std::string& source, DeployNetImpl& deploy, const ExportSpec& spec,
                          const DataOptions& data, const Dataset& val, const Normalization& norm,
                          torch::Device dev,
                          const std::string& out_dir, bool write_cache, Logger& log) {
  MixedPlan plan;
  const std::string path = cmd.sensitivity_path.empty() ? out_dir + "/sensitivity.json" : cmd.sensitivity_path;
  const nlohmann::json key = table_key(cmd, source, data, val.size());
  bool cached = false;
  if (std::filesystem::exists(path)) {
    std::ifstream f(path);
    nlohmann::json j;
    try {
      f >> j;
    } catch (const nlohmann::json::exception& e) {
      throw TrainError(path + ": not valid JSON (" + e.what() + "); delete it to measure again");
    }
    SensitivityTable t = sensitivity_from_json(j, path);
    if (t.key == key && t.layers.size() == deploy.num_layers()) {
      plan.table = std::move(t);
      cached = true;
      log.log("sensitivity: reusing " + path);
    } else {
      log.log("sensitivity: " + path + " was measured on another checkpoint or setting; measuring again");
    }
  }
  if (!cached) {
    ClusterOptions co = cmd.cluster;
    co.granularity = cmd.granularity;
    co.seed = cmd.train.seed;
    log.log("sensitivity: " + std::to_string(deploy.num_layers()) + " layers x 8 widths on " +
            std::to_string(val.size()) + " held-out images");
    plan.table = measure_sensitivity(deploy, val, norm, co, dev, log);
    plan.table.key = key;
    if (write_cache) {
      std::filesystem::path parent = std::filesystem::path(path).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent);
      write_json_atomic(path, sensitivity_to_json(plan.table));
      log.log("sensitivity: table written to " + path + " (" + num("%.0f", plan.table.seconds) + " s)");
    }
  }
  log_sensitivity(plan.table, log);
  plan.sizes = mixed_file_size_model(deploy, spec, cmd.granularity);
  plan.report = {{"sensitivity_file", path}, {"sensitivity_reused", cached}};
  if (cmd.sensitivity_only) return plan;
  plan.allocation = allocate_bits(plan.table, plan.sizes, cmd.budget);
  log.log("budget " + cmd.budget.describe() + ":");
  log_allocation(plan, log);
  plan.report.update(allocation_to_json(plan.allocation, plan.table, plan.sizes, cmd.budget));
  return plan;
}

}  // namespace repvk::train
