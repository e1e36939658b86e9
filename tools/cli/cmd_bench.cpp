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
  auto net = std::make_unique<Network>(session.device(), m, session.network_options(o.batch));
  const std::string precision = precision_name(net->precision());

  // Correctness first: a fast wrong answer is not a benchmark result.
  const auto gpu = net->infer_logits(input.data(), o.batch);
  const auto ref = cpu::forward(m, input.data(), o.batch, true);
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
  const double tolerance = net->precision() == Precision::Fp16 ? 2e-2 : 1e-3;
  if (!(rel <= tolerance))
    throw Error("GPU output differs from the CPU reference: max relative error " +
                std::to_string(rel) + " exceeds " + std::to_string(tolerance) + " (" +
                precision + ")");

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
  std::printf("device:     %s, precision %s, batch %u\n", device.c_str(), precision.c_str(),
              o.batch);
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
  add_gpu_options(*sub, o->gpu);
  return {sub, [o, bits] { return run(*o, bits->count() > 0); }};
}

}  // namespace repvk::cli
