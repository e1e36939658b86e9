// SPDX-License-Identifier: MIT
// `repvk bench` helpers: model and input, the CPU check, the timed loop, and the
// per-layer cost model.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <random>

#include "bench.h"
#include "repvk/cpu_reference.h"
#include "repvk/error.h"
#include "repvk/synthetic.h"

namespace repvk::cli {

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
  const auto gpu = net.infer_logits(input, batch);
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
                net.conv_kernel() + ")");
  return rel;
}


double tolerance_for(const Network& net) {
  return net.precision() == Precision::Fp16 || net.fp16_math() ? 2e-2 : 1e-3;
}

Fp16MathReport fp16_math_report(const Device& device, const Network& net) {
  Fp16MathReport r;
  r.used = net.fp16_math();
  const std::optional<Fp16MathMeasurement> m = device.cached_fp16_math();
  nlohmann::json j = {{"used", r.used}};
  std::string text = r.used ? "on" : "off";
  if (m && m->measured) {
    j["measured"] = true;
    j["fp32_ms"] = m->fp32_ms;
    j["fp16_ms"] = m->fp16_ms;
    j["faster"] = m->use_fp16;
    j["shape"] = m->shape;
    j["timer"] = m->gpu_timestamps ? "timestamps" : "host";
    j["probe_ms"] = m->probe_ms;
    text += " (measured: fp32 " + fixed(m->fp32_ms, 4) + " ms, fp16 " + fixed(m->fp16_ms, 4) +
            " ms, medians of " + std::to_string(m->repetitions) + " on " + m->shape + ", " +
            (m->gpu_timestamps ? "timestamps" : "host timing") + ", probe " +
            fixed(m->probe_ms, 0) + " ms; fp16 " +
            (m->use_fp16 ? "chosen" : "not 5% faster") + ")";
  } else {
    j["measured"] = false;
    const std::string why = m ? m->reason
                              : std::string(conv_algorithm(net) == ConvAlgorithm::Igemm
                                                ? "not needed: fp16 math forced or no shaderFloat16"
                                                : "not needed: no igemm conv layer");
    j["reason"] = why;
    text += " (not measured: " + why + ")";
  }
  r.text = text;
  r.json = j;
  return r;
}

std::vector<float> bench_input(const Model& m, uint32_t batch) {
  std::mt19937 rng(12345);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> input(size_t(m.input.channels) * m.input.height * m.input.width * batch);
  for (auto& v : input) v = dist(rng);
  return input;
}

void measure_once(Network& net, const std::vector<float>& input, uint32_t batch, Measurement& m) {
  const auto t0 = std::chrono::steady_clock::now();
  net.infer(input, batch);
  m.host_ms.push_back(
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  m.gpu_ms.push_back(net.last_gpu_ms());
  const auto timings = net.last_timings();
  const double runs = double(m.host_ms.size());
  if (m.names.size() != timings.size()) {
    m.names.clear();
    for (const auto& t : timings) m.names.push_back(t.name);
    m.layer_ms.assign(timings.size(), 0.0);
  }
  // Running mean, so that callers may stop at any run.
  for (size_t i = 0; i < timings.size(); ++i)
    m.layer_ms[i] += (timings[i].gpu_ms - m.layer_ms[i]) / runs;
}

Measurement measure(Network& net, const std::vector<float>& input, uint32_t batch,
                    uint32_t warmup, uint32_t runs) {
  for (uint32_t i = 0; i < warmup; ++i) net.infer(input, batch);
  Measurement m;
  for (uint32_t r = 0; r < runs; ++r) measure_once(net, input, batch, m);
  return m;
}

std::vector<LayerCost> layer_costs(const Model& m, const std::vector<TensorShape>& shapes,
                                   Precision precision,
                                   const std::vector<uint64_t>& uploaded_weight_bytes) {
  if (uploaded_weight_bytes.size() != m.layers.size())
    throw Error("bench: " + std::to_string(uploaded_weight_bytes.size()) +
                " per-layer weight sizes for " + std::to_string(m.layers.size()) + " layers");
  const auto stats = model_stats(m);
  // The same element types the Network allocates (repvk::activation_element_bytes).
  const std::vector<uint32_t> elem = activation_element_bytes(m, precision);
  const TensorShape input{m.input.channels, m.input.height, m.input.width};
  std::vector<LayerCost> out(m.layers.size());
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const TensorShape in = i == 0 ? input : shapes[i - 1];
    out[i].flops = stats[i].flops;
    // What the kernel uploaded, not the file's bytes: the texel kernels expand to fp32,
    // the igemm pads its index chunks, fp16-stored dense weights are uploaded as fp32.
    out[i].weight_bytes = uploaded_weight_bytes[i];
    out[i].activation_bytes = in.elements() * elem[i] + shapes[i].elements() * elem[i + 1];
  }
  return out;
}

}  // namespace repvk::cli
