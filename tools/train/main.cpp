// SPDX-License-Identifier: MIT
// repvk-train: command-line front end. Flags are parsed here; the work is in cmd_*.cpp.
#include <CLI/CLI.hpp>

#include <iostream>

#include "commands.h"
#include "dist/launcher.h"
#include "import/import_command.h"
#ifdef REPVK_HAVE_ONNX
#include "onnx/onnx_cli.h"
#endif

using namespace repvk::train;

namespace {

const char* kIntro = R"(repvk-train: train low-bit RepVGG classifiers for the repvk engine.

Typical session (Fashion-MNIST, the default dataset):
  repvk-train train --preset small --norm oabn --epochs 10 --out runs/oabn
  repvk-train report --checkpoint runs/oabn/checkpoint.pt
  repvk-train quantize --checkpoint runs/oabn/checkpoint.pt --method cluster --bits 4 \
      --epochs 1 --out runs/oabn-c4 --export runs/oabn-c4/model.rpvk
  repvk classify --model runs/oabn-c4/model.rpvk image.png

Run `repvk-train <command> --help` for the flags of each command.
See docs/method.md for OABN and ClusterQAT.)";

std::vector<int64_t> parse_list(const std::string& s, const std::string& flag) {
  std::vector<int64_t> v;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    try {
      size_t used = 0;
      v.push_back(std::stoll(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw TrainError(flag + ": '" + item + "' is not an integer (expected e.g. 1,2,2,2,1)");
    }
  }
  return v;
}

struct ModelFlags {
  std::string preset = "small", depths, widths, strides, norm = "oabn", input;
  double width_a = 0, width_b = 0;
  int64_t first_stride = 0;
  OabnParams oabn;

  void add(CLI::App* app, bool with_norm) {
    app->add_option("--preset", preset, "small | A0 | A0-32")->capture_default_str();
    app->add_option("--depths", depths, "blocks per stage, e.g. 1,2,2,2,1");
    app->add_option("--base-widths", widths, "base widths per stage before a/b scaling");
    app->add_option("--width-a", width_a, "RepVGG width multiplier a (stages 0-3)");
    app->add_option("--width-b", width_b, "RepVGG width multiplier b (last stage)");
    app->add_option("--first-stride", first_stride, "stride of the first stage (1 or 2)");
    app->add_option("--strides", strides, "stride of each stage's first block, e.g. 1,2,2,2,1");
    app->add_option("--input", input, "CxHxW the model expects; must match the data");
    if (!with_norm) return;
    app->add_option("--norm", norm, "bn (plain BatchNorm) | oabn (outlier-aware)")->capture_default_str();
    app->add_option("--oabn-kappa", oabn.kappa, "3x3 scale bound, multiple of the median")->capture_default_str();
    app->add_option("--oabn-lambda-1x1", oabn.lambda_1x1, "1x1 centre bound, multiple of r_o")->capture_default_str();
    app->add_option("--oabn-lambda-id", oabn.lambda_id, "identity centre bound, multiple of r_o")->capture_default_str();
  }

  // Returns the config and whether the input shape is fixed (preset or --input).
  std::pair<ModelConfig, bool> build() const {
    ModelConfig c = model_preset(preset);
    bool fixed = preset != "small";
    if (!depths.empty()) c.depths = parse_list(depths, "--depths");
    if (!widths.empty()) c.base_widths = parse_list(widths, "--base-widths");
    if (!strides.empty()) c.strides = parse_list(strides, "--strides");
    if (width_a != 0) c.width_a = width_a;
    if (width_b != 0) c.width_b = width_b;
    if (width_a < 0 || width_b < 0) throw TrainError("--width-a/--width-b must be > 0");
    if (first_stride != 0) {
      if (c.strides.empty()) throw TrainError("--first-stride needs stages");
      c.strides[0] = first_stride;
    }
    if (norm != "bn" && norm != "oabn") throw TrainError("--norm must be bn or oabn, got '" + norm + "'");
    c.norm = norm == "oabn" ? NormKind::Oabn : NormKind::Bn;
    c.oabn = oabn;
    if (!input.empty()) {
      int64_t ch = 0, h = 0, w = 0;
      char x1 = 0, x2 = 0;
      std::stringstream ss(input);
      if (!(ss >> ch >> x1 >> h >> x2 >> w) || x1 != 'x' || x2 != 'x')
        throw TrainError("--input must look like 1x28x28, got '" + input + "'");
      c.in_channels = ch;
      c.height = h;
      c.width = w;
      fixed = true;
    }
    // Widths of 0 are rejected by name here; validate_config catches the rest.
    for (int64_t w : c.base_widths)
      if (w <= 0) throw TrainError("--base-widths: widths must be > 0");
    return {c, fixed};
  }
};

void add_data(CLI::App* app, DataOptions& d) {
  app->add_option("--dataset", d.kind, "fashion-mnist | cifar10 | folder")->capture_default_str();
  app->add_option("--data-dir", d.dir,
                  "dataset folder (default for fashion-mnist: /usr/share/datasets/fashion-mnist)");
  app->add_option("--image-size", d.image_size, "folder datasets: resize images to NxN");
  app->add_option("--channels", d.channels, "folder datasets: 1 (grey) or 3 (RGB)")->capture_default_str();
  app->add_option("--val", d.val,
                  "training images held out for validation; per-epoch accuracy is measured "
                  "on them, never on the test set (0: no hold-out)")
      ->capture_default_str();
}

void add_train(CLI::App* app, TrainOptions& t, bool fine_tune) {
  app->add_option("--epochs", t.epochs, "training epochs")->capture_default_str();
  app->add_option("--batch", t.batch, "batch size")->capture_default_str();
  app->add_option("--lr", t.lr, "peak learning rate (cosine schedule)")->capture_default_str();
  app->add_option("--momentum", t.momentum, "SGD Nesterov momentum")->capture_default_str();
  app->add_option("--weight-decay", t.weight_decay, "on kernels only")->capture_default_str();
  app->add_option("--seed", t.seed, "seed: same seed, same weights")->capture_default_str();
  app->add_option("--steps-per-epoch", t.steps_per_epoch, "cap steps per epoch (0: full epoch)");
  // Hidden: the dist tests interrupt at a known step instead of racing a signal.
  app->add_option("--interrupt-at-step", t.interrupt_at_step, "act as if Ctrl-C reached rank 0 in global step N")
      ->group("");
  if (fine_tune) return;
  app->add_option("--crop-padding", t.aug.crop_padding, "random crop from an image padded by N pixels (0: off)")
      ->capture_default_str();
  app->add_flag("--hflip", t.aug.hflip, "random horizontal flips");
}

void add_common(CLI::App* app, CommonOptions& c) {
  app->add_option("--threads", c.threads, "CPU threads (default: all cores)");
  app->add_flag("!--no-progress", c.progress, "no progress bar");
}

void add_dist(CLI::App* app, DistFlags& d, int& nproc) {
  app->add_option("--nproc", nproc, "run as N local worker processes (data parallel, one rank each)")
      ->capture_default_str();
  app->add_option("--rank", d.rank, "this process's rank (default: $RANK, else 0)");
  app->add_option("--world-size", d.world, "number of ranks (default: $WORLD_SIZE, else 1)");
  app->add_option("--master", d.master,
                  "ADDR:PORT of rank 0's rendezvous store (default: $MASTER_ADDR:$MASTER_PORT, "
                  "else 127.0.0.1:29500; --nproc picks a free port)");
  app->add_option("--backend", d.backend, "gloo (CPU) | nccl (CUDA libtorch builds)");
  app->add_option("--gloo-ifname", d.gloo_ifname,
                  "network interface Gloo uses between machines (default: $GLOO_SOCKET_IFNAME)");
  app->add_option("--timeout", d.timeout_s, "seconds before a missing or dead rank is an error")
      ->capture_default_str();
  app->add_flag("--sync-bn", d.sync_bn, "batch-norm statistics over all ranks (global batch)");
}

// --nproc N: this process becomes the launcher of N copies of itself, without --nproc.
int maybe_launch(int argc, char** argv, int nproc, const DistFlags& d) {
  if (nproc < 1) throw TrainError("--nproc must be >= 1");
  if (d.rank >= 0 || d.world >= 0)
    throw TrainError("--nproc starts its own ranks; drop --rank/--world-size");
  std::vector<std::string> args;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--nproc") {
      ++i;
      continue;
    }
    if (a.rfind("--nproc=", 0) == 0) continue;
    args.push_back(a);
  }
  LaunchOptions lo;
  lo.nproc = nproc;
  lo.master = d.master;
  lo.grace = std::chrono::milliseconds(int64_t(d.timeout_s * 1000) + 10000);
  return launch_local_workers(args, lo);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kIntro, "repvk-train"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every command");

  TrainCommand train;
  train.train.aug.crop_padding = 2;
  ModelFlags train_model;
  auto* tr = app.add_subcommand("train", "train a RepVGG (training form) and report its merged weights");
  add_data(tr, train.data);
  train_model.add(tr, true);
  add_train(tr, train.train, false);
  add_common(tr, train.common);
  tr->add_option("--out", train.out_dir, "output folder: checkpoint.pt, train.log, outliers.json")->required();
  tr->add_flag("--resume", train.resume, "continue the run in --out from its checkpoint");
  tr->add_option("--export", train.export_path, "also write the merged fp32 model (.rpvk)");
  int train_nproc = 1;
  add_dist(tr, train.dist, train_nproc);

  QuantizeCommand quant;
  quant.train.epochs = 1;
  quant.train.lr = 0.01;
  quant.train.weight_decay = 0;
  std::string gran = "channel";
  auto* qu = app.add_subcommand("quantize", "quantize the merged network: ptq | qat | cluster");
  CLI::Option* qckpt_opt = qu->add_option(
      "--checkpoint", quant.checkpoint,
      "checkpoint.pt from `train`; data and --val default to that run's (a data flag given "
      "replaces its own value; --dataset or --data-dir replace them all)");
  CLI::Option* qmodel_opt = qu->add_option(
      "--model", quant.model_path,
      "instead of --checkpoint: start from the network in a .rpvk file (e.g. a shipped fp32 "
      "model; data defaults to Fashion-MNIST with --val 5000)");
  qckpt_opt->excludes(qmodel_opt);
  qu->add_option("--method", quant.method,
                 "ptq: uniform per-channel PTQ; qat: uniform QAT (STE); cluster: ClusterQAT")
      ->capture_default_str();
  CLI::Option* bits_opt = qu->add_option("--bits", quant.bits, "bits per weight, 1..8")->capture_default_str();
  qu->add_option("--first-last-bits", quant.first_last_bits,
                 "bits of the first conv and the fc (0: same as --bits; with a budget: pins "
                 "them, 0 or absent lets the allocator choose)")->capture_default_str();
  CLI::Option* kib_opt = qu->add_option(
      "--budget-kib", quant.budget.kib,
      "cluster: choose per-layer widths so the whole .rpvk file fits K KiB (1024 bytes), "
      "minimizing the measured validation-loss sensitivity (replaces --bits)");
  CLI::Option* bpw_opt = qu->add_option(
      "--budget-bits-per-weight", quant.budget.bits_per_weight,
      "cluster: like --budget-kib, but the budget is the mean index width over all weights, "
      "sum(n_l*b_l)/sum(n_l) (codebooks and bias not counted)");
  kib_opt->excludes(bpw_opt)->excludes(bits_opt);
  bpw_opt->excludes(bits_opt);
  CLI::Option* min_opt = qu->add_option("--min-bits", quant.budget.min_bits,
                                        "with a budget: narrowest width any layer may get")->capture_default_str();
  CLI::Option* max_opt = qu->add_option("--max-bits", quant.budget.max_bits,
                                        "with a budget: widest width any layer may get")->capture_default_str();
  CLI::Option* sens_opt = qu->add_option(
      "--sensitivity", quant.sensitivity_path,
      "with a budget: sensitivity table cache (JSON); reused when it was measured on the same "
      "checkpoint and settings (default: --out/sensitivity.json)");
  CLI::Option* sens_only = qu->add_flag("--sensitivity-only", quant.sensitivity_only,
                                        "measure (or reuse) the sensitivity table, print it and stop");
  sens_only->excludes(bits_opt)->excludes(kib_opt)->excludes(bpw_opt);
  qu->add_option("--granularity", gran, "cluster codebooks: layer | channel")->capture_default_str();
  qu->add_option("--reassign-every", quant.cluster.reassign_every,
                 "cluster: steps between nearest-centroid re-assignments")->capture_default_str();
  add_train(qu, quant.train, true);
  add_data(qu, quant.data);
  add_common(qu, quant.common);
  qu->add_option("--out", quant.out_dir, "folder for quantize.log and quant-checkpoint.pt")->capture_default_str();
  qu->add_flag("--resume", quant.resume, "continue fine-tuning from --out/quant-checkpoint.pt");
  qu->add_option("--export", quant.export_path, "write the quantized model (.rpvk)");
  int quant_nproc = 1;
  add_dist(qu, quant.dist, quant_nproc);

  ReportCommand report;
  auto* re = app.add_subcommand("report", "outlier statistics of a checkpoint's merged weights");
  re->add_option("--checkpoint", report.checkpoint, "checkpoint.pt from `train`")->required();
  re->add_option("--json", report.json_path, "also write the statistics as JSON");
  re->add_option("--histogram", report.histogram_path,
                 "write a histogram of one layer's weights, in standard deviations, as TSV");
  re->add_option("--layer", report.histogram_layer, "layer for --histogram, e.g. conv6 (default: the worst)");
  add_common(re, report.common);

  BenchCommand bench;
  ModelFlags bench_model;
  bench_model.norm = "bn";
  auto* be = app.add_subcommand("bench", "training throughput on random data (images/s)");
  bench_model.add(be, true);
  be->add_option("--batch", bench.batch)->capture_default_str();
  be->add_option("--steps", bench.steps)->capture_default_str();
  be->add_option("--warmup", bench.warmup)->capture_default_str();
  add_common(be, bench.common);

  InferBenchCommand infer;
  auto* ib = app.add_subcommand(
      "infer-bench", "inference throughput of a .rpvk model in libtorch on the CPU (images/s)");
  ib->add_option("MODEL", infer.model_path, "model file (.rpvk)")->required();
  ib->add_option("--batch", infer.batch, "images per forward pass")->capture_default_str();
  ib->add_option("--runs", infer.runs, "timed runs")->capture_default_str();
  ib->add_option("--warmup", infer.warmup, "untimed runs first")->capture_default_str();
  ib->add_flag("--json", infer.json, "print JSON on stdout");
  add_common(ib, infer.common);

  ImportCommand import_cmd;
  CLI::App* im = add_import_subcommand(app, import_cmd);
#ifdef REPVK_HAVE_ONNX
  ExportOnnxCommand onnx_cmd;
  CLI::App* eo = add_export_onnx_subcommand(app, onnx_cmd);
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (*tr && train_nproc != 1) return maybe_launch(argc, argv, train_nproc, train.dist);
    if (*qu && quant_nproc != 1) return maybe_launch(argc, argv, quant_nproc, quant.dist);
    if (*tr) {
      std::tie(train.model, train.input_fixed) = train_model.build();
      return run_train(train);
    }
    if (*qu) {
      if (gran != "layer" && gran != "channel")
        throw TrainError("--granularity must be layer or channel, got '" + gran + "'");
      quant.granularity = gran == "layer" ? Granularity::Layer : Granularity::Channel;
      quant.data_given = qu->count("--dataset") + qu->count("--data-dir") > 0;
      quant.val_given = qu->count("--val") > 0;
      quant.image_size_given = qu->count("--image-size") > 0;
      quant.channels_given = qu->count("--channels") > 0;
      if (qckpt_opt->count() + qmodel_opt->count() == 0)
        throw TrainError("quantize needs --checkpoint (from `train`) or --model (a .rpvk file)");
      const bool budget = kib_opt->count() + bpw_opt->count() > 0;
      if (!budget && !quant.sensitivity_only && min_opt->count() + max_opt->count() + sens_opt->count() > 0)
        throw TrainError("--min-bits, --max-bits and --sensitivity apply only with --budget-kib or "
                         "--budget-bits-per-weight");
      if (budget && !(quant.budget.kib > 0 || quant.budget.bits_per_weight > 0))
        throw TrainError(std::string(kib_opt->count() ? "--budget-kib" : "--budget-bits-per-weight") +
                         " must be > 0");
      // With a budget the first conv and the fc are free unless pinned.
      if (budget) quant.budget.first_last_bits = qu->count("--first-last-bits") ? quant.first_last_bits : 0;
      return run_quantize(quant);
    }
    if (*re) return run_report(report);
    if (*im) return run_import(import_cmd);
#ifdef REPVK_HAVE_ONNX
    if (*eo) return run_export_onnx(onnx_cmd);
#endif
    if (*ib) return run_infer_bench(infer);
    if (*be) {
      bench.model = bench_model.build().first;
      return run_bench(bench);
    }
  } catch (const Interrupted& e) {
    std::cerr << "repvk-train: " << e.what() << "\n";
    return 130;
  } catch (const DistError& e) {
    std::cerr << "repvk-train: distributed error: " << e.what() << "\n";
    return 3;
  } catch (const TrainError& e) {
    std::cerr << "repvk-train: error: " << e.what() << "\n";
    return 2;
  } catch (const c10::Error& e) {
    std::cerr << "repvk-train: torch error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "repvk-train: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
