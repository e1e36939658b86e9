// SPDX-License-Identifier: MIT
// Shared by the `repvk bench` translation units: options, the timed loop, and the
// per-layer cost model (FLOPs, weight and activation bytes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common.h"
#include "repvk/roofline.h"

namespace repvk::cli {

struct BenchOptions {
  std::string model;
  std::string synthetic;
  uint32_t bits = 4;
  bool fp32_weights = false;
  std::string granularity = "channel";
  uint64_t seed = 1;
  uint32_t batch = 1, warmup = 3, runs = 20;
  std::vector<uint32_t> sweep;  // batch sizes for --sweep
  bool json = false;
  std::string report;  // --report FILE.md: one row of docs/benchmarks.md's results table
  std::string conv = "auto";
  bool compare_conv = false;
  bool roofline = false;
  uint32_t igemm_split_k = 0;  // --igemm-split-k: NetworkTuning::igemm_split_k
  uint32_t compute_units = 0;  // --compute-units: NetworkTuning::compute_units
  GpuOptions gpu;
};

// What one network did over the timed runs.
struct Measurement {
  std::vector<double> host_ms, gpu_ms;
  std::vector<std::string> names;   // per timed layer
  std::vector<double> layer_ms;     // per timed layer, mean over the runs
};

// warmup untimed runs, then `runs` timed ones.
Measurement measure(Network& net, const std::vector<float>& input, uint32_t batch,
                    uint32_t warmup, uint32_t runs);
// One timed run appended to `m` (for interleaving several networks).
void measure_once(Network& net, const std::vector<float>& input, uint32_t batch, Measurement& m);

// Per model layer, for one image: FLOPs, the weight bytes the chosen kernel reads (the
// bytes it uploaded: Network::layer_weight_bytes()), and the activation bytes it reads
// and writes.
struct LayerCost {
  uint64_t flops = 0, weight_bytes = 0, activation_bytes = 0;
};
std::vector<LayerCost> layer_costs(const Model& m, const std::vector<TensorShape>& shapes,
                                   Precision precision,
                                   const std::vector<uint64_t>& uploaded_weight_bytes);

// Model layer of timing `i` (from "#N" in its name, or by position), or -1.
int64_t layer_index_of(const std::string& name, size_t i, size_t timings, size_t layers);

LoadedModel bench_model(const BenchOptions& o, bool bits_given);
std::vector<float> bench_input(const Model& m, uint32_t batch);

// Correctness first: throws when the GPU logits differ from the CPU reference by more
// than `tolerance` of the largest reference logit; returns that relative error.
double check_against_cpu(Network& net, const Model& m, const std::vector<float>& input,
                         uint32_t batch, double tolerance);
double tolerance_for(const Network& net);

// What `bench` says about fp16 arithmetic: whether the network uses it and the
// device's measurement (Device::cached_fp16_math()), when one was made.
struct Fp16MathReport {
  bool used = false;
  std::string text;     // one line, e.g. "off (measured: fp32 0.12 ms, fp16 0.31 ms, ...)"
  nlohmann::json json;  // {"used", "measured", "fp32_ms", "fp16_ms", ...}
};
Fp16MathReport fp16_math_report(const Device& device, const Network& net);

inline double gflops(double flops, double ms) { return ms > 0 ? flops / (ms * 1e6) : 0.0; }

int run_compare(const BenchOptions& o, const LoadedModel& lm, const std::vector<float>& input,
                GpuSession& session);

}  // namespace repvk::cli
