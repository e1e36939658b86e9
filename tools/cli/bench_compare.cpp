// SPDX-License-Identifier: MIT
// `repvk bench --compare-conv`: the same model with every conv3x3 kernel, runs
// interleaved (direct, tiled, texel, igemm, direct, ...) so that load from other processes
// hits all of them alike. Direct, the first correct version, is the baseline every
// speedup is measured against.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "bench.h"
#include "bench_provenance.h"

namespace repvk::cli {

int run_compare(const BenchOptions& o, const LoadedModel& lm, const std::vector<float>& input,
                GpuSession& session) {
  const Model& m = lm.model;
  uint64_t flops_per_image = 0;
  for (const auto& s : model_stats(m)) flops_per_image += s.flops;
  // Every kernel of the table, direct (the baseline) first.
  std::vector<ConvAlgorithm> algos;
  for (const ConvKernelName& kn : conv_kernel_names())
    if (kn.algorithm != ConvAlgorithm::Auto) algos.push_back(kn.algorithm);
  const size_t k = algos.size();
  std::vector<std::unique_ptr<Network>> nets;
  std::vector<Measurement> t(k);
  std::vector<double> rel(k);
  std::vector<std::string> used(k);  // the kernel each network really runs
  std::string precision;
  for (size_t a = 0; a < k; ++a) {
    NetworkOptions nopt = session.network_options(o.batch);
    tuning(nopt).conv_algorithm = algos[a];
    nets.push_back(std::make_unique<Network>(session.device(), m, nopt));
    precision = precision_name(nets[a]->precision());
    used[a] = nets[a]->conv_kernel();
    rel[a] = check_against_cpu(*nets[a], m, input, o.batch, tolerance_for(*nets[a]));
  }
  for (uint32_t i = 0; i < o.warmup; ++i)
    for (auto& n : nets) n->infer(input, o.batch);
  for (uint32_t r = 0; r < o.runs; ++r)
    for (size_t a = 0; a < k; ++a) measure_once(*nets[a], input, o.batch, t[a]);
  const std::string device = session.device_name();
  const nlohmann::json provenance = bench_provenance(session.device(), lm);
  nets.clear();
  session.finish();

  auto ratio = [](double base, double v) { return v > 0 ? base / v : 0.0; };
  const double batch_flops = double(flops_per_image) * o.batch;
  std::vector<double> host(k), gpu(k);
  for (size_t a = 0; a < k; ++a) {
    host[a] = median(t[a].host_ms);
    gpu[a] = median(t[a].gpu_ms);
  }
  bool layers = !t[0].layer_ms.empty();
  for (const auto& x : t) layers = layers && x.layer_ms.size() == t[0].layer_ms.size();
  // Timing names end with the kernel's name; the table's columns already say it.
  auto layer_name = [&](size_t i) {
    std::string n = t[0].names[i];
    const std::string tail = std::string(" ") + conv_algorithm_name(algos[0]);
    if (n.size() > tail.size() && n.compare(n.size() - tail.size(), tail.size(), tail) == 0)
      n.resize(n.size() - tail.size());
    return n;
  };
  auto layer_flops = [&](size_t i) {
    const int64_t li = layer_index_of(t[0].names[i], i, t[0].names.size(), m.layers.size());
    return li >= 0 ? double(model_stats(m)[size_t(li)].flops) * o.batch : 0.0;
  };

  if (o.json) {
    nlohmann::json j = provenance;
    j["model"] = m.name;
    j["model_source"] = lm.source;
    j["device"] = device;
    j["precision"] = precision;
    j["batch"] = o.batch;
    j["warmup"] = o.warmup;
    j["runs"] = o.runs;
    j["baseline"] = conv_algorithm_name(algos[0]);
    for (size_t a = 0; a < k; ++a)
      j["kernels"][conv_algorithm_name(algos[a])] = {
          {"runs_as", used[a]},
          {"max_relative_error", rel[a]},
          {"host_ms_median", host[a]},
          {"images_per_second", host[a] > 0 ? o.batch * 1000.0 / host[a] : 0.0},
          {"gpu_ms_median", gpu[a]},
          {"gflops_per_second", gflops(batch_flops, gpu[a] > 0 ? gpu[a] : host[a])},
          {"speedup_host", ratio(host[0], host[a])},
          {"speedup_gpu", ratio(gpu[0], gpu[a])}};
    j["layers"] = nlohmann::json::array();
    for (size_t i = 0; layers && i < t[0].layer_ms.size(); ++i) {
      nlohmann::json l = {{"name", layer_name(i)}};
      for (size_t a = 0; a < k; ++a) {
        const std::string n = conv_algorithm_name(algos[a]);
        l[n + "_ms"] = t[a].layer_ms[i];
        l[n + "_gflops_per_second"] = gflops(layer_flops(i), t[a].layer_ms[i]);
        l[n + "_speedup"] = ratio(t[0].layer_ms[i], t[a].layer_ms[i]);
      }
      j["layers"].push_back(l);
    }
    print_json(j);
    return 0;
  }

  std::printf("model:      %s (%s)\n", m.name.c_str(), lm.source.c_str());
  std::printf("device:     %s, precision %s, batch %u\n", device.c_str(), precision.c_str(),
              o.batch);
  std::printf("check:      max relative error vs the CPU reference:");
  for (size_t a = 0; a < k; ++a) std::printf(" %s %.2e", used[a].c_str(), rel[a]);
  std::printf(": ok\n");
  std::printf("runs:       %u per kernel after %u warm-up, interleaved\n", o.runs, o.warmup);
  for (size_t a = 0; a < k; ++a)
    std::printf("%-7s     host median %s ms, %s images/s; gpu median %s ms, %s GFLOP/s; "
                "%sx direct (gpu)\n",
                used[a].c_str(), fixed(host[a], 3).c_str(),
                fixed(host[a] > 0 ? o.batch * 1000.0 / host[a] : 0.0, 1).c_str(),
                fixed(gpu[a], 3).c_str(), fixed(gflops(batch_flops, gpu[a]), 2).c_str(),
                fixed(ratio(gpu[0], gpu[a]), 2).c_str());
  if (!layers) return 0;
  int width = 5;
  for (size_t i = 0; i < t[0].names.size(); ++i) width = std::max(width, int(layer_name(i).size()));
  std::printf("\nper-layer GPU ms (mean of %u runs each) and speedup over direct:\n", o.runs);
  std::printf("  %-*s", width, "layer");
  for (size_t a = 0; a < k; ++a) std::printf(" %10s", used[a].c_str());
  for (size_t a = 1; a < k; ++a) std::printf(" %9s", (used[a] + " x").c_str());
  std::printf("\n");
  for (size_t i = 0; i < t[0].layer_ms.size(); ++i) {
    std::printf("  %-*s", width, layer_name(i).c_str());
    for (size_t a = 0; a < k; ++a) std::printf(" %10s", fixed(t[a].layer_ms[i], 3).c_str());
    for (size_t a = 1; a < k; ++a)
      std::printf(" %9s", fixed(ratio(t[0].layer_ms[i], t[a].layer_ms[i]), 2).c_str());
    std::printf("\n");
  }
  return 0;
}

}  // namespace repvk::cli
