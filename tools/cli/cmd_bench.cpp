// `repvk bench`: checks the GPU against the CPU reference once, then times
// repeated inference and breaks the GPU time down per layer.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>

#include "common.h"
#include "repvk/cpu_reference.h"
#include "repvk/error.h"
#include "repvk/synthetic.h"

namespace repvk::cli {
namespace {

struct BenchOptions {
  std::string model;
  std::string synthetic;
  uint32_t bits = 4;
  bool fp32_weights = false;
  std::string granularity = "channel";
  uint64_t seed = 1;
  uint32_t batch = 1, warmup = 3, runs = 20;
  bool json = false;
  std::string conv = "auto";
  bool compare_conv = false;
  GpuOptions gpu;
};

struct LayerRow {
  std::string name;
  double total_ms = 0;
  int64_t layer = -1;  // model layer index, when it can be recovered from the name
};

// Recovers the model layer of timing `i`, which gives the layer's FLOPs: from a
// "#N" in the name when there is one, else by position when there is exactly one
// timing per layer. -1 when neither works (e.g. fused layers).
int64_t layer_index_of(const std::string& name, size_t i, size_t timings, size_t layers) {
  const size_t hash = name.find('#');
  if (hash != std::string::npos) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(name.c_str() + hash + 1, &end, 10);
    if (end != name.c_str() + hash + 1 && v < layers) return int64_t(v);
  }
  return timings == layers ? int64_t(i) : -1;
}

LoadedModel bench_model(const BenchOptions& o, bool bits_given) {
  const bool weights_given = bits_given || o.fp32_weights;
  if (!o.model.empty() && !o.synthetic.empty())
    throw UsageError("give either MODEL or --synthetic, not both");
  if (!o.model.empty() && weights_given)
    throw UsageError("--bits and --fp32-weights apply to --synthetic models only");
  std::string preset = o.synthetic;
  if (preset.empty() && o.model.empty() && weights_given) preset = "small";
  if (preset.empty()) return load_model_or_default(o.model);
  const uint32_t bits = o.fp32_weights ? 0 : o.bits;
  const auto gran = o.granularity == "layer" ? CodebookGranularity::PerLayer
                                             : CodebookGranularity::PerOutputChannel;
  LoadedModel lm;
  lm.model = build_synthetic(preset, bits, gran, o.seed);
  lm.source = synthetic_description(preset, bits, gran, o.seed);
  lm.synthetic = true;
  lm.shapes = validate_model(lm.model, lm.source);
  return lm;
}

// Correctness first: a fast wrong answer is not a benchmark result. Returns the max
// error relative to the largest reference logit; throws above `tolerance`.
double check_against_cpu(Network& net, const Model& m, const std::vector<float>& input,
                         uint32_t batch, double tolerance) {
  const auto gpu = net.infer_logits(input.data(), batch);
  const auto ref = cpu::forward(m, input.data(), batch, true);
  if (gpu.size() != ref.size())
    throw Error("GPU returned " + std::to_string(gpu.size()) + " logits, the CPU reference " +
                std::to_string(ref.size()));
  double max_ref = 0, max_err = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    max_ref = std::max(max_ref, std::fabs(double(ref[i])));
    const double e = std::fabs(double(gpu[i]) - double(ref[i]));
    max_err = std::isfinite(e) ? std::max(max_err, e) : INFINITY;
  }
  const double rel = max_ref > 0 ? max_err / max_ref : max_err;
  if (!(rel <= tolerance))
    throw Error("GPU output differs from the CPU reference: max relative error " +
                std::to_string(rel) + " exceeds " + std::to_string(tolerance) + " (" +
                precision_name(net.precision()) + ", conv " +
                conv_algorithm_name(net.conv_algorithm()) + ")");
  return rel;
}

// One network's measurements in a --compare-conv run.
struct Timed {
  std::unique_ptr<Network> net;
  std::vector<double> host_ms, gpu_ms, layer_ms;  // layer_ms: summed over runs
  std::vector<std::string> names;
};

// --compare-conv: the same model with the Direct (baseline) and Tiled conv kernels,
// runs interleaved (direct, tiled, direct, ...) so that load from other processes
// hits both alike; prints both and the speedup per layer and overall.
int run_compare(const BenchOptions& o, const LoadedModel& lm, const std::vector<float>& input,
                GpuSession& session) {
  const Model& m = lm.model;
  const auto stats = model_stats(m);
  uint64_t flops_per_image = 0;
  for (const auto& s : stats) flops_per_image += s.flops;
  const ConvAlgorithm algos[2] = {ConvAlgorithm::Direct, ConvAlgorithm::Tiled};
  Timed t[2];
  double rel[2] = {0, 0};
  std::string precision;
  for (int a = 0; a < 2; ++a) {
    NetworkOptions nopt = session.network_options(o.batch);
    nopt.conv_algorithm = algos[a];
    t[a].net = std::make_unique<Network>(session.device(), m, nopt);
    precision = precision_name(t[a].net->precision());
    const double tol = t[a].net->precision() == Precision::Fp16 ? 2e-2 : 1e-3;
    rel[a] = check_against_cpu(*t[a].net, m, input, o.batch, tol);
  }
  for (uint32_t i = 0; i < o.warmup; ++i)
    for (auto& x : t) x.net->infer(input.data(), o.batch);
  for (uint32_t r = 0; r < o.runs; ++r) {
    for (auto& x : t) {
      const auto t0 = std::chrono::steady_clock::now();
      x.net->infer(input.data(), o.batch);
      x.host_ms.push_back(std::chrono::duration<double, std::milli>(
                              std::chrono::steady_clock::now() - t0)
                              .count());
      x.gpu_ms.push_back(x.net->last_gpu_ms());
      const auto timings = x.net->last_timings();
      x.layer_ms.resize(timings.size(), 0.0);
      x.names.resize(timings.size());
      for (size_t i = 0; i < timings.size(); ++i) {
        x.layer_ms[i] += timings[i].gpu_ms;
        x.names[i] = timings[i].name;
      }
    }
  }
  const std::string device = session.device_name();
  for (auto& x : t) x.net.reset();
  session.finish();

  auto gflops = [](double flops, double ms) { return ms > 0 ? flops / (ms * 1e6) : 0.0; };
  auto ratio = [](double base, double v) { return v > 0 ? base / v : 0.0; };
  const double batch_flops = double(flops_per_image) * o.batch;
  double host[2], gpu[2];
  for (int a = 0; a < 2; ++a) {
    host[a] = median(t[a].host_ms);
    gpu[a] = median(t[a].gpu_ms);
  }
  const bool layers = t[0].layer_ms.size() == t[1].layer_ms.size() && !t[0].layer_ms.empty();

  if (o.json) {
    nlohmann::json j;
    j["model"] = m.name;
    j["model_source"] = lm.source;
    j["device"] = device;
    j["precision"] = precision;
    j["batch"] = o.batch;
    j["warmup"] = o.warmup;
    j["runs"] = o.runs;
    for (int a = 0; a < 2; ++a) {
      const char* name = conv_algorithm_name(algos[a]);
      j[name] = {{"max_relative_error", rel[a]},
                 {"host_ms_median", host[a]},
                 {"images_per_second", host[a] > 0 ? o.batch * 1000.0 / host[a] : 0.0},
                 {"gpu_ms_median", gpu[a]},
                 {"gflops_per_second", gflops(batch_flops, gpu[a] > 0 ? gpu[a] : host[a])}};
    }
    j["speedup_host"] = ratio(host[0], host[1]);
    j["speedup_gpu"] = ratio(gpu[0], gpu[1]);
    j["layers"] = nlohmann::json::array();
    if (layers) {
      for (size_t i = 0; i < t[0].layer_ms.size(); ++i) {
        const double d = t[0].layer_ms[i] / o.runs, ti = t[1].layer_ms[i] / o.runs;
        nlohmann::json l = {{"name", t[1].names[i]},
                            {"direct_ms", d},
                            {"tiled_ms", ti},
                            {"speedup", ratio(d, ti)}};
        const int64_t li = layer_index_of(t[1].names[i], i, t[1].names.size(), m.layers.size());
        if (li >= 0) {
          const double f = double(stats[size_t(li)].flops) * o.batch;
          l["direct_gflops_per_second"] = gflops(f, d);
          l["tiled_gflops_per_second"] = gflops(f, ti);
        }
        j["layers"].push_back(l);
      }
    }
    print_json(j);
    return 0;
  }

  std::printf("model:      %s (%s)\n", m.name.c_str(), lm.source.c_str());
  std::printf("device:     %s, precision %s, batch %u\n", device.c_str(), precision.c_str(),
              o.batch);
  std::printf("check:      max relative error direct %.2e, tiled %.2e vs the CPU reference: ok\n",
              rel[0], rel[1]);
  std::printf("runs:       %u per kernel after %u warm-up, interleaved direct/tiled\n", o.runs,
              o.warmup);
  for (int a = 0; a < 2; ++a)
    std::printf("%-7s     host median %s ms, %s images/s; gpu median %s ms, %s GFLOP/s\n",
                conv_algorithm_name(algos[a]), fixed(host[a], 3).c_str(),
                fixed(host[a] > 0 ? o.batch * 1000.0 / host[a] : 0.0, 1).c_str(),
                fixed(gpu[a], 3).c_str(), fixed(gflops(batch_flops, gpu[a]), 2).c_str());
  std::printf("speedup:    tiled vs direct %sx (host), %sx (gpu)\n",
              fixed(ratio(host[0], host[1]), 2).c_str(), fixed(ratio(gpu[0], gpu[1]), 2).c_str());
  if (!layers) return 0;
  int width = 5;
  for (const auto& n : t[1].names) width = std::max(width, int(n.size()));
  std::printf("\nper-layer GPU time (mean of %u runs each):\n", o.runs);
  std::printf("  %-*s %11s %11s %8s %9s %9s\n", width, "layer (tiled)", "direct ms", "tiled ms",
              "speedup", "dir GF/s", "til GF/s");
  for (size_t i = 0; i < t[0].layer_ms.size(); ++i) {
    const double d = t[0].layer_ms[i] / o.runs, ti = t[1].layer_ms[i] / o.runs;
    const int64_t li = layer_index_of(t[1].names[i], i, t[1].names.size(), m.layers.size());
    const double f = li >= 0 ? double(stats[size_t(li)].flops) * o.batch : 0.0;
    std::printf("  %-*s %11s %11s %7sx %9s %9s\n", width, t[1].names[i].c_str(),
                fixed(d, 4).c_str(), fixed(ti, 4).c_str(), fixed(ratio(d, ti), 2).c_str(),
                li >= 0 ? fixed(gflops(f, d), 2).c_str() : "-",
                li >= 0 ? fixed(gflops(f, ti), 2).c_str() : "-");
  }
  return 0;
}

int run(const BenchOptions& o, bool bits_given) {
  parse_precision(o.gpu);  // flag contradictions are usage errors, whatever else fails
  const LoadedModel lm = bench_model(o, bits_given);
  const Model& m = lm.model;
  const auto stats = model_stats(m);
  uint64_t flops_per_image = 0;
  for (const auto& s : stats) flops_per_image += s.flops;

  std::mt19937 rng(12345);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const size_t input_floats = size_t(m.input.channels) * m.input.height * m.input.width;
  std::vector<float> input(input_floats * o.batch);
  for (auto& v : input) v = dist(rng);

  GpuSession session(o.gpu);
  if (o.compare_conv) return run_compare(o, lm, input, session);
  NetworkOptions nopt = session.network_options(o.batch);
  nopt.conv_algorithm = parse_conv_algorithm(o.conv);
  auto net = std::make_unique<Network>(session.device(), m, nopt);
  const std::string precision = precision_name(net->precision());
  const std::string conv = conv_algorithm_name(net->conv_algorithm());
  const double tolerance = net->precision() == Precision::Fp16 ? 2e-2 : 1e-3;
  const double rel = check_against_cpu(*net, m, input, o.batch, tolerance);

  for (uint32_t i = 0; i < o.warmup; ++i) net->infer(input.data(), o.batch);

  std::vector<double> host_ms, gpu_ms;
  std::vector<LayerRow> rows;
  for (uint32_t r = 0; r < o.runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    net->infer(input.data(), o.batch);
    host_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    gpu_ms.push_back(net->last_gpu_ms());
    const auto timings = net->last_timings();
    if (rows.size() != timings.size()) {
      rows.assign(timings.size(), {});
      for (size_t i = 0; i < timings.size(); ++i) {
        rows[i].name = timings[i].name;
        rows[i].layer = layer_index_of(timings[i].name, i, timings.size(), m.layers.size());
      }
    }
    for (size_t i = 0; i < timings.size(); ++i) rows[i].total_ms += timings[i].gpu_ms;
  }
  const std::string device = session.device_name();
  net.reset();
  session.finish();

  const double med = median(host_ms);
  const double lo = *std::min_element(host_ms.begin(), host_ms.end());
  const double hi = *std::max_element(host_ms.begin(), host_ms.end());
  const double med_gpu = median(gpu_ms);
  const double ips = med > 0 ? o.batch * 1000.0 / med : 0.0;
  const double batch_flops = double(flops_per_image) * o.batch;
  auto gflops = [](double flops, double ms) { return ms > 0 ? flops / (ms * 1e6) : 0.0; };
  double layers_ms = 0;
  for (const auto& r : rows) layers_ms += r.total_ms / o.runs;

  if (o.json) {
    nlohmann::json j;
    j["model"] = m.name;
    j["model_source"] = lm.source;
    j["device"] = device;
    j["precision"] = precision;
    j["conv_algorithm"] = conv;
    j["batch"] = o.batch;
    j["warmup"] = o.warmup;
    j["runs"] = o.runs;
    j["check"] = {{"max_relative_error", rel}, {"tolerance", tolerance}};
    j["host_ms"] = {{"median", med}, {"min", lo}, {"max", hi}};
    j["images_per_second"] = ips;
    j["gpu_ms_median"] = med_gpu;
    j["flops_per_image"] = flops_per_image;
    j["gflops_per_second"] = gflops(batch_flops, med_gpu > 0 ? med_gpu : med);
    j["layers"] = nlohmann::json::array();
    for (const auto& r : rows) {
      const double ms = r.total_ms / o.runs;
      nlohmann::json l = {{"name", r.name}, {"gpu_ms", ms},
                          {"share", layers_ms > 0 ? ms / layers_ms : 0.0}};
      if (r.layer >= 0) {
        l["layer"] = r.layer;
        l["gflops_per_second"] = gflops(double(stats[size_t(r.layer)].flops) * o.batch, ms);
      }
      j["layers"].push_back(l);
    }
    print_json(j);
    return 0;
  }

  std::printf("model:      %s (%s)\n", m.name.c_str(), lm.source.c_str());
  std::printf("device:     %s, precision %s, conv %s, batch %u\n", device.c_str(),
              precision.c_str(), conv.c_str(), o.batch);
  std::printf("check:      max relative error %.2e vs the CPU reference (tolerance %.0e): ok\n",
              rel, tolerance);
  std::printf("latency:    median %s ms, min %s ms, max %s ms (host, %u runs after %u warm-up)\n",
              fixed(med, 3).c_str(), fixed(lo, 3).c_str(), fixed(hi, 3).c_str(), o.runs,
              o.warmup);
  std::printf("throughput: %s images/s (median)\n", fixed(ips, 1).c_str());
  if (med_gpu > 0)
    std::printf("gpu time:   median %s ms, %s GFLOP/s (%s MFLOPs per image)\n",
                fixed(med_gpu, 3).c_str(), fixed(gflops(batch_flops, med_gpu), 2).c_str(),
                fixed(flops_per_image / 1e6, 2).c_str());
  else
    std::printf("gpu time:   not available (no timestamp support)\n");
  if (rows.empty()) return 0;
  int width = 5;
  for (const auto& r : rows) width = std::max(width, int(r.name.size()));
  std::printf("\nper-layer GPU time (mean of %u runs):\n", o.runs);
  std::printf("  %-*s %10s %7s %9s\n", width, "layer", "ms", "share", "GFLOP/s");
  for (const auto& r : rows) {
    const double ms = r.total_ms / o.runs;
    const std::string gf =
        r.layer >= 0 ? fixed(gflops(double(stats[size_t(r.layer)].flops) * o.batch, ms), 2) : "-";
    std::printf("  %-*s %10s %6s%% %9s\n", width, r.name.c_str(), fixed(ms, 4).c_str(),
                fixed(layers_ms > 0 ? 100.0 * ms / layers_ms : 0.0, 1).c_str(), gf.c_str());
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
                      "conv3x3 kernel: auto ($REPVK_CONV, else texel on CPU devices and tiled "
                      "elsewhere), direct (the first correct version, the baseline), tiled "
                      "(packed codebooks decoded in shared memory) or texel (texel-buffer "
                      "reads of load-time-expanded weights)")
          ->check(CLI::IsMember({"auto", "direct", "tiled", "texel"}))
          ->capture_default_str();
  sub->add_flag("--compare-conv", o->compare_conv,
                "Time the direct and tiled conv kernels in one run, interleaved, and print "
                "both and the speedup per layer")
      ->excludes(conv);
  add_gpu_options(*sub, o->gpu);
  return {sub, [o, bits] { return run(*o, bits->count() > 0); }};
}

}  // namespace repvk::cli
