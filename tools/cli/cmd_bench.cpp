// SPDX-License-Identifier: MIT
// `repvk bench`: checks the GPU against the CPU reference once, then times
// repeated inference and breaks the GPU time down per layer; optionally measures
// the device's roofline first and sweeps batch sizes.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "bench.h"
#include "repvk/error.h"
#include "repvk/synthetic.h"

namespace repvk::cli {
namespace {

void print_roofline(const RooflinePeaks& p) {
  std::printf("roofline:   fp32 %s GFLOP/s, fp16 %s, copy %s GB/s (storage) / %s GB/s "
              "(texel reads) (measured in %s s)\n",
              fixed(p.fp32_gflops, 1).c_str(),
              p.fp16_gflops > 0 ? (fixed(p.fp16_gflops, 1) + " GFLOP/s").c_str() : "n/a",
              fixed(p.copy_gbps, 2).c_str(), fixed(p.texel_copy_gbps, 2).c_str(),
              fixed(p.seconds, 1).c_str());
}

nlohmann::json roofline_json(const RooflinePeaks& p) {
  return {{"fp32_gflops", p.fp32_gflops},
          {"fp16_gflops", p.fp16_gflops > 0 ? nlohmann::json(p.fp16_gflops) : nlohmann::json()},
          {"copy_gbps", p.copy_gbps},
          {"texel_copy_gbps", p.texel_copy_gbps}};
}

// --sweep: one network per batch size (max_batch = that size), same checks and timing.
int run_sweep(const BenchOptions& o, const LoadedModel& lm, GpuSession& session,
              const RooflinePeaks* peaks) {
  const Model& m = lm.model;
  uint64_t flops_per_image = 0;
  for (const auto& s : model_stats(m)) flops_per_image += s.flops;
  struct Row {
    uint32_t batch;
    double host, gpu, lo, hi;
  };
  std::vector<Row> rows;
  std::string precision, conv;
  for (uint32_t b : o.sweep) {
    const std::vector<float> input = bench_input(m, b);
    NetworkOptions nopt = session.network_options(b);
    // "auto" leaves $REPVK_CONV (already in nopt) in charge.
    if (const ConvAlgorithm c = parse_conv_algorithm(o.conv); c != ConvAlgorithm::Auto)
      tuning(nopt).conv_algorithm = c;
    tuning(nopt).igemm_split_k = o.igemm_split_k;
    tuning(nopt).compute_units = o.compute_units;
    Network net(session.device(), m, nopt);
    precision = precision_name(net.precision());
    conv = net.conv_kernel();
    check_against_cpu(net, m, input, b, tolerance_for(net));
    const Measurement r = measure(net, input, b, o.warmup, o.runs);
    rows.push_back({b, median(r.host_ms), median(r.gpu_ms),
                    *std::min_element(r.host_ms.begin(), r.host_ms.end()),
                    *std::max_element(r.host_ms.begin(), r.host_ms.end())});
  }
  const std::string device = session.device_name();
  session.finish();
  if (o.json) {
    nlohmann::json j = {{"model", m.name}, {"model_source", lm.source}, {"device", device},
                        {"precision", precision}, {"conv_algorithm", conv},
                        {"warmup", o.warmup}, {"runs", o.runs}};
    if (peaks) j["roofline"] = roofline_json(*peaks);
    for (const Row& r : rows)
      j["sweep"].push_back({{"batch", r.batch},
                            {"host_ms", {{"median", r.host}, {"min", r.lo}, {"max", r.hi}}},
                            {"gpu_ms_median", r.gpu},
                            {"overhead_ms", r.gpu > 0 ? r.host - r.gpu : 0.0},
                            {"images_per_second", r.host > 0 ? r.batch * 1000.0 / r.host : 0.0},
                            {"gflops_per_second", gflops(double(flops_per_image) * r.batch, r.gpu)}});
    print_json(j);
    return 0;
  }
  std::printf("model:      %s (%s)\n", m.name.c_str(), lm.source.c_str());
  std::printf("device:     %s, precision %s, conv %s\n", device.c_str(), precision.c_str(),
              conv.c_str());
  if (peaks) print_roofline(*peaks);
  std::printf("check:      every batch size matched the CPU reference\n");
  std::printf("\n  %6s %12s %12s %12s %11s %9s\n", "batch", "host ms", "gpu ms", "overhead ms",
              "images/s", "GFLOP/s");
  for (const Row& r : rows)
    std::printf("  %6u %12s %12s %12s %11s %9s\n", r.batch, fixed(r.host, 3).c_str(),
                r.gpu > 0 ? fixed(r.gpu, 3).c_str() : "-",
                r.gpu > 0 ? fixed(r.host - r.gpu, 3).c_str() : "-",
                fixed(r.host > 0 ? r.batch * 1000.0 / r.host : 0.0, 1).c_str(),
                fixed(gflops(double(flops_per_image) * r.batch, r.gpu), 2).c_str());
  return 0;
}

int run(const BenchOptions& o, bool bits_given) {
  parse_precision(o.gpu);  // flag contradictions are usage errors, whatever else fails
  if (o.compare_conv && !o.sweep.empty()) throw UsageError("--sweep and --compare-conv exclude each other");
  const LoadedModel lm = bench_model(o, bits_given);
  const Model& m = lm.model;
  uint64_t flops_per_image = 0;
  for (const auto& s : model_stats(m)) flops_per_image += s.flops;

  GpuSession session(o.gpu);
  RooflinePeaks peaks;
  if (o.roofline) peaks = measure_roofline(session.device());
  const RooflinePeaks* pk = o.roofline ? &peaks : nullptr;
  if (!o.sweep.empty()) return run_sweep(o, lm, session, pk);
  const std::vector<float> input = bench_input(m, o.batch);
  if (o.compare_conv) return run_compare(o, lm, input, session);
  NetworkOptions nopt = session.network_options(o.batch);
  // "auto" leaves $REPVK_CONV (already in nopt) in charge.
  if (const ConvAlgorithm c = parse_conv_algorithm(o.conv); c != ConvAlgorithm::Auto)
    tuning(nopt).conv_algorithm = c;
  auto net = std::make_unique<Network>(session.device(), m, nopt);
  const std::string precision = precision_name(net->precision());
  const ConvAlgorithm conv_algo = conv_algorithm(*net);
  const std::string conv = conv_algorithm_name(conv_algo);
  const Precision prec = net->precision();
  const double tolerance = tolerance_for(*net);
  const Fp16MathReport fp16_math = fp16_math_report(session.device(), *net);
  const double rel = check_against_cpu(*net, m, input, o.batch, tolerance);
  const Measurement r = measure(*net, input, o.batch, o.warmup, o.runs);
  const std::vector<uint64_t> uploaded = net->layer_weight_bytes();
  const std::string device = session.device_name();
  net.reset();
  session.finish();

  const auto costs = layer_costs(m, lm.shapes, prec, uploaded);
  const double med = median(r.host_ms);
  const double lo = *std::min_element(r.host_ms.begin(), r.host_ms.end());
  const double hi = *std::max_element(r.host_ms.begin(), r.host_ms.end());
  const double med_gpu = median(r.gpu_ms);
  const double ips = med > 0 ? o.batch * 1000.0 / med : 0.0;
  const double batch_flops = double(flops_per_image) * o.batch;
  double layers_ms = 0;
  for (double ms : r.layer_ms) layers_ms += ms;
  struct Row {
    std::string name;
    double ms = 0;
    int64_t layer = -1;
    double gflops = 0, gbps = 0, weight_mb = 0, act_mb = 0;
  };
  std::vector<Row> rows;
  for (size_t i = 0; i < r.names.size(); ++i) {
    Row row{r.names[i], r.layer_ms[i], layer_index_of(r.names[i], i, r.names.size(), m.layers.size())};
    if (row.layer >= 0) {
      const LayerCost& c = costs[size_t(row.layer)];
      row.gflops = gflops(double(c.flops) * o.batch, row.ms);
      // Weights are read once per dispatch; activations once per image.
      const double bytes = double(c.weight_bytes) + double(c.activation_bytes) * o.batch;
      row.gbps = row.ms > 0 ? bytes / (row.ms * 1e6) : 0.0;
      row.weight_mb = double(c.weight_bytes) / 1e6;
      row.act_mb = double(c.activation_bytes) * o.batch / 1e6;
    }
    rows.push_back(row);
  }
  const double peak_flops = prec == Precision::Fp16 && peaks.fp16_gflops > 0 ? peaks.fp16_gflops
                                                                            : peaks.fp32_gflops;

  if (o.json) {
    nlohmann::json j;
    j["model"] = m.name;
    j["model_source"] = lm.source;
    j["device"] = device;
    j["precision"] = precision;
    j["conv_algorithm"] = conv;
    j["fp16_math"] = fp16_math.json;
    j["batch"] = o.batch;
    j["warmup"] = o.warmup;
    j["runs"] = o.runs;
    j["check"] = {{"max_relative_error", rel}, {"tolerance", tolerance}};
    j["host_ms"] = {{"median", med}, {"min", lo}, {"max", hi}};
    j["images_per_second"] = ips;
    j["gpu_ms_median"] = med_gpu;
    j["overhead_ms_median"] = med_gpu > 0 ? med - med_gpu : 0.0;
    j["flops_per_image"] = flops_per_image;
    j["gflops_per_second"] = gflops(batch_flops, med_gpu > 0 ? med_gpu : med);
    if (pk) j["roofline"] = roofline_json(peaks);
    j["layers"] = nlohmann::json::array();
    for (const Row& row : rows) {
      nlohmann::json l = {{"name", row.name}, {"gpu_ms", row.ms},
                          {"share", layers_ms > 0 ? row.ms / layers_ms : 0.0}};
      if (row.layer >= 0) {
        l["layer"] = row.layer;
        l["gflops_per_second"] = row.gflops;
        l["gbytes_per_second"] = row.gbps;
        l["weight_mb"] = row.weight_mb;
        l["activation_mb"] = row.act_mb;
        if (pk) {
          l["fraction_of_peak_flops"] = peak_flops > 0 ? row.gflops / peak_flops : 0.0;
          l["fraction_of_peak_bandwidth"] = peaks.best_copy_gbps() > 0 ? row.gbps / peaks.best_copy_gbps() : 0.0;
        }
      }
      j["layers"].push_back(l);
    }
    print_json(j);
    return 0;
  }

  std::printf("model:      %s (%s)\n", m.name.c_str(), lm.source.c_str());
  std::printf("device:     %s, precision %s, conv %s, batch %u\n", device.c_str(),
              precision.c_str(), conv.c_str(), o.batch);
  std::printf("fp16 math:  %s\n", fp16_math.text.c_str());
  if (pk) print_roofline(peaks);
  std::printf("check:      max relative error %.2e vs the CPU reference (tolerance %.0e): ok\n",
              rel, tolerance);
  std::printf("latency:    median %s ms, min %s ms, max %s ms (host, %u runs after %u warm-up)\n",
              fixed(med, 3).c_str(), fixed(lo, 3).c_str(), fixed(hi, 3).c_str(), o.runs,
              o.warmup);
  std::printf("throughput: %s images/s (median)\n", fixed(ips, 1).c_str());
  if (med_gpu > 0) {
    std::printf("gpu time:   median %s ms, %s GFLOP/s (%s MFLOPs per image)\n",
                fixed(med_gpu, 3).c_str(), fixed(gflops(batch_flops, med_gpu), 2).c_str(),
                fixed(flops_per_image / 1e6, 2).c_str());
    std::printf("overhead:   %s ms per call outside GPU time (upload, submit, wait, readback)\n",
                fixed(med - med_gpu, 3).c_str());
  } else {
    std::printf("gpu time:   not available (no timestamp support)\n");
  }
  if (rows.empty()) return 0;
  int width = 5;
  for (const auto& row : rows) width = std::max(width, int(row.name.size()));
  std::printf("\nper-layer GPU time (mean of %u runs):\n", o.runs);
  std::printf("  %-*s %10s %7s %9s %8s %8s %8s", width, "layer", "ms", "share", "GFLOP/s", "GB/s",
              "wt MB", "act MB");
  if (pk) std::printf(" %7s %7s", "%flop", "%bw");
  std::printf("\n");
  for (const auto& row : rows) {
    const bool known = row.layer >= 0;
    std::printf("  %-*s %10s %6s%% %9s %8s %8s %8s", width, row.name.c_str(),
                fixed(row.ms, 4).c_str(),
                fixed(layers_ms > 0 ? 100.0 * row.ms / layers_ms : 0.0, 1).c_str(),
                known ? fixed(row.gflops, 2).c_str() : "-", known ? fixed(row.gbps, 2).c_str() : "-",
                known ? fixed(row.weight_mb, 3).c_str() : "-",
                known ? fixed(row.act_mb, 3).c_str() : "-");
    if (pk)
      std::printf(" %6s%% %6s%%",
                  known && peak_flops > 0 ? fixed(100 * row.gflops / peak_flops, 1).c_str() : "-",
                  known && peaks.best_copy_gbps() > 0 ? fixed(100 * row.gbps / peaks.best_copy_gbps(), 1).c_str()
                                               : "-");
    std::printf("\n");
  }
  return 0;
}

}  // namespace

Command register_bench(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* sub =
      app.add_subcommand("bench", "Time GPU inference: latency, images/s, per-layer GPU time");
  sub->footer(
      "Runs on random input. Before timing, the GPU logits are compared with the CPU\n"
      "reference on one batch; a max error above 1e-3 (fp32) or 2e-2 (fp16) of the largest\n"
      "reference logit aborts the benchmark.");
  CLI::Option* pos = sub->add_option("MODEL", o->model, "Model file (.rpvk); default: the "
                                                        "bundled model unless --synthetic");
  sub->add_option("--model", o->model, "Same as MODEL")->type_name("PATH")->excludes(pos);
  sub->add_option("--synthetic", o->synthetic,
                  "Benchmark a generated model instead: small (1x28x28), A0, A1, B0 (3x224x224)")
      ->type_name("PRESET")
      ->check(CLI::IsMember(synthetic_preset_names()));
  CLI::Option* bits = sub->add_option("--bits", o->bits, "Codebook bits of the synthetic model")
                          ->type_name("B")
                          ->check(CLI::Range(1u, 8u))
                          ->capture_default_str();
  sub->add_flag("--fp32-weights", o->fp32_weights, "Synthetic model with dense fp32 weights")
      ->excludes(bits);
  sub->add_option("--granularity", o->granularity, "Codebook per layer or per output channel")
      ->check(CLI::IsMember({"layer", "channel"}))
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "Seed of the synthetic model")
      ->type_name("S")
      ->capture_default_str();
  sub->add_option("--batch", o->batch, "Images per inference call")
      ->type_name("N")
      ->check(CLI::Range(1u, 4096u))
      ->capture_default_str();
  sub->add_option("--warmup", o->warmup, "Untimed runs first")
      ->type_name("W")
      ->check(CLI::Range(0u, 100000u))
      ->capture_default_str();
  sub->add_option("--runs", o->runs, "Timed runs")
      ->type_name("R")
      ->check(CLI::Range(1u, 100000u))
      ->capture_default_str();
  sub->add_flag("--json", o->json, "Print machine-readable JSON on stdout");
  CLI::Option* conv =
      sub->add_option("--conv", o->conv,
                      "conv3x3 kernel: auto ($REPVK_CONV, else texel on CPU devices and igemm "
                      "elsewhere), direct (the first correct version, the baseline), tiled "
                      "(packed codebooks decoded in shared memory), texel (texel-buffer "
                      "reads of load-time-expanded weights) or igemm (implicit GEMM with "
                      "shared-memory tiles, for GPUs)")
          ->check(CLI::IsMember(conv_kernel_choices()))
          ->capture_default_str();
  sub->add_flag("--compare-conv", o->compare_conv,
                "Time the direct (baseline), tiled, texel and igemm conv kernels in one run, "
                "interleaved, and print each one's speedup over direct, per layer")
      ->excludes(conv);
  sub->add_option("--igemm-split-k", o->igemm_split_k,
                  "igemm: cut every conv layer's K into N slices (clamped to its input "
                  "channels; 1 = never split); 0 = the chooser (small layers on big GPUs)")
      ->type_name("N")
      ->check(CLI::Range(0u, 4096u))
      ->capture_default_str();
  sub->add_option("--compute-units", o->compute_units,
                  "igemm's split-K chooser plans as for a GPU with N compute units (SMs, "
                  "CUs); 0 = the device's count")
      ->type_name("N")
      ->check(CLI::Range(0u, 65536u))
      ->capture_default_str();
  sub->add_flag("--roofline", o->roofline,
                "First measure the device's peak fp32 (and fp16) multiply-add rate and copy "
                "bandwidth with synthetic shaders, then report each layer's fraction of them");
  sub->add_option("--sweep", o->sweep,
                  "Time each of these batch sizes in turn (e.g. 1,2,4,8,16) instead of --batch")
      ->type_name("N,N,...")
      ->delimiter(',')
      ->check(CLI::Range(1u, 4096u));
  add_gpu_options(*sub, o->gpu);
  return {sub, [o, bits] { return run(*o, bits->count() > 0); }};
}

}  // namespace repvk::cli
