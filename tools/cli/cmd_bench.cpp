// SPDX-License-Identifier: MIT
// `repvk bench`: checks the GPU against the CPU reference once, then times
// repeated inference and breaks the GPU time down per layer; optionally measures
// the device's roofline first and sweeps batch sizes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include "bench.h"
#include "bench_provenance.h"
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
  const nlohmann::json provenance = bench_provenance(session.device(), lm);
  session.finish();
  if (o.json) {
    nlohmann::json j = {{"model", m.name}, {"model_source", lm.source}, {"device", device},
                        {"precision", precision}, {"conv_algorithm", conv},
                        {"warmup", o.warmup}, {"runs", o.runs}};
    j.update(provenance);
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

// What one timed network (the default mode) measured, for the two printers.
struct SingleRun {
  std::string device, precision, conv;
  Precision prec = Precision::Fp32;
  Fp16MathReport fp16_math;
  double create_ms = 0;  // the Network constructor: planning, pipelines, weight upload
  double tolerance = 0, rel = 0;
  Measurement r;
  std::vector<LayerCost> costs;
  uint64_t flops_per_image = 0;
  double med = 0, lo = 0, hi = 0, med_gpu = 0, layers_ms = 0;
  nlohmann::json provenance;  // bench_provenance(): device, driver, build, OS, model hash
};

struct LayerRow {
  std::string name;
  double ms = 0;
  int64_t layer = -1;
  double gflops = 0, gbps = 0, weight_mb = 0, act_mb = 0;
};

SingleRun run_single(const BenchOptions& o, const LoadedModel& lm, GpuSession& session,
                     const std::vector<float>& input) {
  const Model& m = lm.model;
  SingleRun s;
  for (const auto& st : model_stats(m)) s.flops_per_image += st.flops;
  NetworkOptions nopt = session.network_options(o.batch);
  // "auto" leaves $REPVK_CONV (already in nopt) in charge.
  if (const ConvAlgorithm c = parse_conv_algorithm(o.conv); c != ConvAlgorithm::Auto)
    tuning(nopt).conv_algorithm = c;
  const auto t0 = std::chrono::steady_clock::now();
  auto net = std::make_unique<Network>(session.device(), m, nopt);
  s.create_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  s.precision = precision_name(net->precision());
  s.conv = conv_algorithm_name(conv_algorithm(*net));
  s.prec = net->precision();
  s.tolerance = tolerance_for(*net);
  s.fp16_math = fp16_math_report(session.device(), *net);
  s.rel = check_against_cpu(*net, m, input, o.batch, s.tolerance);
  s.r = measure(*net, input, o.batch, o.warmup, o.runs);
  s.costs = layer_costs(m, lm.shapes, s.prec, net->layer_weight_bytes());
  s.device = session.device_name();
  s.provenance = bench_provenance(session.device(), lm);
  net.reset();
  session.finish();
  s.med = median(s.r.host_ms);
  s.lo = *std::min_element(s.r.host_ms.begin(), s.r.host_ms.end());
  s.hi = *std::max_element(s.r.host_ms.begin(), s.r.host_ms.end());
  s.med_gpu = median(s.r.gpu_ms);
  for (double ms : s.r.layer_ms) s.layers_ms += ms;
  return s;
}

std::vector<LayerRow> layer_rows(const SingleRun& s, const Model& m, uint32_t batch) {
  std::vector<LayerRow> rows;
  for (size_t i = 0; i < s.r.names.size(); ++i) {
    LayerRow row{s.r.names[i], s.r.layer_ms[i],
                 layer_index_of(s.r.names[i], i, s.r.names.size(), m.layers.size())};
    if (row.layer >= 0) {
      const LayerCost& c = s.costs[size_t(row.layer)];
      row.gflops = gflops(double(c.flops) * batch, row.ms);
      // Weights are read once per dispatch; activations once per image.
      const double bytes = double(c.weight_bytes) + double(c.activation_bytes) * batch;
      row.gbps = row.ms > 0 ? bytes / (row.ms * 1e6) : 0.0;
      row.weight_mb = double(c.weight_bytes) / 1e6;
      row.act_mb = double(c.activation_bytes) * batch / 1e6;
    }
    rows.push_back(row);
  }
  return rows;
}

double peak_flops_for(const SingleRun& s, const RooflinePeaks& peaks) {
  return s.prec == Precision::Fp16 && peaks.fp16_gflops > 0 ? peaks.fp16_gflops : peaks.fp32_gflops;
}

void print_single_json(const BenchOptions& o, const LoadedModel& lm, const SingleRun& s,
                       const std::vector<LayerRow>& rows, const RooflinePeaks* pk) {
  const double batch_flops = double(s.flops_per_image) * o.batch;
  nlohmann::json j = s.provenance;
  j["model"] = lm.model.name;
  j["model_source"] = lm.source;
  j["device"] = s.device;
  j["precision"] = s.precision;
  j["conv_algorithm"] = s.conv;
  j["fp16_math"] = s.fp16_math.json;
  j["batch"] = o.batch;
  j["warmup"] = o.warmup;
  j["runs"] = o.runs;
  j["network_create_ms"] = s.create_ms;
  j["check"] = {{"max_relative_error", s.rel}, {"tolerance", s.tolerance}};
  j["host_ms"] = {{"median", s.med}, {"min", s.lo}, {"max", s.hi}};
  j["images_per_second"] = s.med > 0 ? o.batch * 1000.0 / s.med : 0.0;
  j["gpu_ms_median"] = s.med_gpu;
  j["overhead_ms_median"] = s.med_gpu > 0 ? s.med - s.med_gpu : 0.0;
  j["flops_per_image"] = s.flops_per_image;
  j["gflops_per_second"] = gflops(batch_flops, s.med_gpu > 0 ? s.med_gpu : s.med);
  if (pk) j["roofline"] = roofline_json(*pk);
  j["layers"] = nlohmann::json::array();
  for (const LayerRow& row : rows) {
    nlohmann::json l = {{"name", row.name}, {"gpu_ms", row.ms},
                        {"share", s.layers_ms > 0 ? row.ms / s.layers_ms : 0.0}};
    if (row.layer >= 0) {
      l["layer"] = row.layer;
      l["gflops_per_second"] = row.gflops;
      l["gbytes_per_second"] = row.gbps;
      l["weight_mb"] = row.weight_mb;
      l["activation_mb"] = row.act_mb;
      if (pk) {
        const double peak = peak_flops_for(s, *pk);
        l["fraction_of_peak_flops"] = peak > 0 ? row.gflops / peak : 0.0;
        l["fraction_of_peak_bandwidth"] =
            pk->best_copy_gbps() > 0 ? row.gbps / pk->best_copy_gbps() : 0.0;
      }
    }
    j["layers"].push_back(l);
  }
  print_json(j);
}

void print_layer_table(const BenchOptions& o, const SingleRun& s, const std::vector<LayerRow>& rows,
                       const RooflinePeaks* pk) {
  int width = 5;
  for (const auto& row : rows) width = std::max(width, int(row.name.size()));
  std::printf("\nper-layer GPU time (mean of %u runs):\n", o.runs);
  std::printf("  %-*s %10s %7s %9s %8s %8s %8s", width, "layer", "ms", "share", "GFLOP/s", "GB/s",
              "wt MB", "act MB");
  if (pk) std::printf(" %7s %7s", "%flop", "%bw");
  std::printf("\n");
  const double peak_flops = pk ? peak_flops_for(s, *pk) : 0.0;
  for (const auto& row : rows) {
    const bool known = row.layer >= 0;
    std::printf("  %-*s %10s %6s%% %9s %8s %8s %8s", width, row.name.c_str(),
                fixed(row.ms, 4).c_str(),
                fixed(s.layers_ms > 0 ? 100.0 * row.ms / s.layers_ms : 0.0, 1).c_str(),
                known ? fixed(row.gflops, 2).c_str() : "-", known ? fixed(row.gbps, 2).c_str() : "-",
                known ? fixed(row.weight_mb, 3).c_str() : "-",
                known ? fixed(row.act_mb, 3).c_str() : "-");
    if (pk)
      std::printf(" %6s%% %6s%%",
                  known && peak_flops > 0 ? fixed(100 * row.gflops / peak_flops, 1).c_str() : "-",
                  known && pk->best_copy_gbps() > 0
                      ? fixed(100 * row.gbps / pk->best_copy_gbps(), 1).c_str()
                      : "-");
    std::printf("\n");
  }
}

void print_single_text(const BenchOptions& o, const LoadedModel& lm, const SingleRun& s,
                       const std::vector<LayerRow>& rows, const RooflinePeaks* pk) {
  std::printf("model:      %s (%s)\n", lm.model.name.c_str(), lm.source.c_str());
  std::printf("device:     %s, precision %s, conv %s, batch %u\n", s.device.c_str(),
              s.precision.c_str(), s.conv.c_str(), o.batch);
  std::printf("fp16 math:  %s\n", s.fp16_math.text.c_str());
  std::printf("network:    created in %s ms (planning, pipelines, weight upload)\n",
              fixed(s.create_ms, 1).c_str());
  if (pk) print_roofline(*pk);
  std::printf("check:      max relative error %.2e vs the CPU reference (tolerance %.0e): ok\n",
              s.rel, s.tolerance);
  std::printf("latency:    median %s ms, min %s ms, max %s ms (host, %u runs after %u warm-up)\n",
              fixed(s.med, 3).c_str(), fixed(s.lo, 3).c_str(), fixed(s.hi, 3).c_str(), o.runs,
              o.warmup);
  std::printf("throughput: %s images/s (median)\n",
              fixed(s.med > 0 ? o.batch * 1000.0 / s.med : 0.0, 1).c_str());
  if (s.med_gpu > 0) {
    std::printf("gpu time:   median %s ms, %s GFLOP/s (%s MFLOPs per image)\n",
                fixed(s.med_gpu, 3).c_str(),
                fixed(gflops(double(s.flops_per_image) * o.batch, s.med_gpu), 2).c_str(),
                fixed(s.flops_per_image / 1e6, 2).c_str());
    std::printf("overhead:   %s ms per call outside GPU time (upload, submit, wait, readback)\n",
                fixed(s.med - s.med_gpu, 3).c_str());
  } else {
    std::printf("gpu time:   not available (no timestamp support)\n");
  }
  if (!rows.empty()) print_layer_table(o, s, rows, pk);
}

int run(const BenchOptions& o, bool bits_given) {
  parse_precision(o.gpu);  // flag contradictions are usage errors, whatever else fails
  if (o.compare_conv && !o.sweep.empty()) throw UsageError("--sweep and --compare-conv exclude each other");
  if (!o.report.empty() && (o.compare_conv || !o.sweep.empty()))
    throw UsageError("--report writes one result: not with --sweep or --compare-conv");
  const LoadedModel lm = bench_model(o, bits_given);
  GpuSession session(o.gpu);
  RooflinePeaks peaks;
  if (o.roofline) peaks = measure_roofline(session.device());
  const RooflinePeaks* pk = o.roofline ? &peaks : nullptr;
  if (!o.sweep.empty()) return run_sweep(o, lm, session, pk);
  const std::vector<float> input = bench_input(lm.model, o.batch);
  if (o.compare_conv) return run_compare(o, lm, input, session);
  const SingleRun s = run_single(o, lm, session, input);
  const std::vector<LayerRow> rows = layer_rows(s, lm.model, o.batch);
  if (!o.report.empty()) {
    const double ips = s.med > 0 ? o.batch * 1000.0 / s.med : 0.0;
    write_report(o.report, s.provenance, {s.precision, s.conv, o.batch, s.med_gpu, ips});
  }
  if (o.json)
    print_single_json(o, lm, s, rows, pk);
  else
    print_single_text(o, lm, s, rows, pk);
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
  sub->add_option("--report", o->report,
                  "Also write the result as one row of docs/benchmarks.md's results table "
                  "(Markdown, with its header) to this file")
      ->type_name("FILE.md");
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
