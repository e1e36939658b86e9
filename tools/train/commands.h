// SPDX-License-Identifier: MIT
// The subcommands of repvk-train. main.cpp parses flags into these structs.
#pragma once

#include "model/config.h"
#include "quant/bit_allocation.h"
#include "quant/cluster.h"
#include "session.h"
#include "trainer.h"

namespace repvk::train {

struct CommonOptions {
  int threads = 0;  // 0: all cores
  bool progress = true;
};

struct TrainCommand {
  CommonOptions common;
  DistFlags dist;
  DataOptions data;
  ModelConfig model;
  bool input_fixed = false;
  TrainOptions train;
  std::string out_dir;
  bool resume = false;
  std::string export_path;  // fp32 model file, optional
};

struct QuantizeCommand {
  CommonOptions common;
  DistFlags dist;
  std::string checkpoint;
  std::string model_path;    // instead of a checkpoint: the network in a .rpvk file
  DataOptions data;          // defaults to the training checkpoint's data
  bool data_given = false;   // --dataset or --data-dir: `data` replaces the checkpoint's
  // --val, --image-size, --channels: without data_given, each one given replaces only
  // its own field of the checkpoint's data (--val 0 fine-tunes on every training image).
  bool val_given = false, image_size_given = false, channels_given = false;
  std::string method = "cluster";  // ptq | qat | cluster
  int bits = 4;
  int first_last_bits = 8;   // 0: same as bits
  // Mixed widths (cluster only): a budget replaces --bits. Its first_last_bits is 0
  // (free) unless --first-last-bits was given.
  BudgetOptions budget;
  std::string sensitivity_path;  // cache of the sensitivity table; default --out/sensitivity.json
  bool sensitivity_only = false; // measure (or load) the table, print it, stop
  Granularity granularity = Granularity::Channel;
  ClusterOptions cluster;
  TrainOptions train;        // fine-tuning (qat, cluster)
  std::string out_dir;
  bool resume = false;
  std::string export_path;
};

struct ReportCommand {
  CommonOptions common;
  std::string checkpoint;
  std::string json_path;
  std::string histogram_path;  // TSV histogram of one layer's w/std
  std::string histogram_layer; // layer name; empty: the worst layer
};

struct BenchCommand {
  CommonOptions common;
  ModelConfig model;
  int64_t batch = 128, steps = 20, warmup = 3;
  uint64_t seed = 1;
};

// Inference throughput of a model file run by libtorch on the CPU: the reference
// point `repvk bench` is compared with (tools/bench/vs_libtorch.sh).
struct InferBenchCommand {
  CommonOptions common;
  std::string model_path;
  int64_t batch = 16, runs = 20, warmup = 3;
  bool json = false;
};

int run_train(const TrainCommand& c);
int run_infer_bench(const InferBenchCommand& c);
int run_quantize(const QuantizeCommand& c);
int run_report(const ReportCommand& c);
int run_bench(const BenchCommand& c);

}  // namespace repvk::train
