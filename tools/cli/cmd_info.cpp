// SPDX-License-Identifier: MIT
// `repvk info`: what is inside a model file, layer by layer, and what it costs.
#include <cstdio>
#include <memory>

#include "common.h"

namespace repvk::cli {
namespace {

struct InfoOptions {
  std::string model;
  bool json = false;
};

std::string encoding_string(const Layer& l) {
  if (!l.has_weights()) return "-";
  const Weights& w = l.weights;
  if (w.encoding == WeightEncoding::Fp32)
    return w.dense_storage == ValueStorage::Fp16 ? "fp16" : "fp32";
  std::string s = std::to_string(w.bits) + "-bit ";
  s += w.granularity == CodebookGranularity::PerLayer ? "layer" : "channel";
  s += " k=" + std::to_string(w.codebook_size);
  if (w.codebook_storage == ValueStorage::Fp16) s += " (fp16 cb)";
  return s;
}

std::string in_out(const Layer& l) {
  return std::to_string(l.in_channels) + "->" + std::to_string(l.out_channels);
}

nlohmann::json layer_json(const Layer& l, const TensorShape& shape, const LayerStats& st,
                          size_t index) {
  nlohmann::json j;
  j["index"] = index;
  j["type"] = layer_type_name(l.type);
  j["output_shape"] = {shape.c, shape.h, shape.w};
  j["flops"] = st.flops;
  j["weight_bytes"] = st.weight_bytes;
  j["fp32_bytes"] = st.fp32_bytes;
  if (l.has_weights()) {
    j["in_channels"] = l.in_channels;
    j["out_channels"] = l.out_channels;
    j["relu"] = l.relu;
    const Weights& w = l.weights;
    j["encoding"] = w.encoding == WeightEncoding::Fp32 ? "fp32" : "codebook";
    if (w.encoding == WeightEncoding::Fp32)  // values are fp32 in memory either way
      j["dense_storage"] = w.dense_storage == ValueStorage::Fp16 ? "fp16" : "fp32";
    if (w.encoding == WeightEncoding::Codebook) {
      j["bits"] = w.bits;
      j["granularity"] = w.granularity == CodebookGranularity::PerLayer ? "layer" : "channel";
      j["codebook_size"] = w.codebook_size;
      j["codebook_storage"] = w.codebook_storage == ValueStorage::Fp16 ? "fp16" : "fp32";
    }
  }
  if (l.type == LayerType::Conv3x3) j["stride"] = l.stride;
  return j;
}

int run(const InfoOptions& o) {
  const LoadedModel lm = load_model_or_default(o.model);
  const Model& m = lm.model;
  const auto stats = model_stats(m);
  uint64_t flops = 0, bytes = 0, fp32 = 0;
  for (const auto& s : stats) {
    flops += s.flops;
    bytes += s.weight_bytes;
    fp32 += s.fp32_bytes;
  }
  const double ratio = bytes ? double(fp32) / double(bytes) : 0.0;

  if (o.json) {
    nlohmann::json j;
    j["name"] = m.name;
    j["source"] = lm.source;
    j["synthetic"] = lm.synthetic;
    j["input"] = {{"channels", m.input.channels},
                  {"height", m.input.height},
                  {"width", m.input.width},
                  {"mean", m.input.mean},
                  {"std", m.input.std},
                  {"resize", m.input.resize == InputResize::ShorterSideCrop ? "shorter_side_crop" : "stretch"},
                  {"resize_shorter", m.input.resize_shorter}};
    j["classes"] = m.class_names;
    j["layers"] = nlohmann::json::array();
    for (size_t i = 0; i < m.layers.size(); ++i)
      j["layers"].push_back(layer_json(m.layers[i], lm.shapes.at(i), stats.at(i), i));
    j["totals"] = {{"flops", flops},
                   {"weight_bytes", bytes},
                   {"fp32_bytes", fp32},
                   {"compression_ratio", ratio}};
    print_json(j);
    return 0;
  }

  auto floats = [](const std::vector<float>& v) {
    std::string s;
    for (float f : v) s += (s.empty() ? "" : ", ") + fixed(f, 4);
    return "[" + s + "]";
  };
  std::printf("model:   %s\n", m.name.c_str());
  std::printf("source:  %s\n", lm.source.c_str());
  std::printf("input:   %s (CxHxW), mean %s, std %s\n", input_shape_string(m.input).c_str(),
              floats(m.input.mean).c_str(), floats(m.input.std).c_str());
  if (m.input.resize == InputResize::ShorterSideCrop)
    std::printf("resize:  shorter side to %u px (bilinear), then centre crop %ux%u\n",
                m.input.resize_shorter, m.input.height, m.input.width);
  else
    std::printf("resize:  whole image stretched to %ux%u (bilinear)\n", m.input.height,
                m.input.width);
  std::string names;
  const size_t shown = std::min<size_t>(m.class_names.size(), 10);
  for (size_t i = 0; i < shown; ++i) names += (i ? ", " : "") + class_name(m, uint32_t(i));
  if (shown < m.class_names.size()) names += ", ...";
  std::printf("classes: %u (%s)\n\n", m.num_classes(), names.c_str());

  std::printf("%4s  %-16s %-11s %6s  %-12s %-22s %11s %11s %10s\n", "#", "type", "in->out",
              "stride", "output", "weights", "bytes", "fp32 bytes", "MFLOPs");
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const Layer& l = m.layers[i];
    const LayerStats& st = stats.at(i);
    std::printf("%4zu  %-16s %-11s %6s  %-12s %-22s %11llu %11llu %10s\n", i,
                layer_type_name(l.type), l.has_weights() ? in_out(l).c_str() : "-",
                l.type == LayerType::Conv3x3 ? std::to_string(l.stride).c_str() : "-",
                shape_string(lm.shapes.at(i)).c_str(), encoding_string(l).c_str(),
                (unsigned long long)st.weight_bytes, (unsigned long long)st.fp32_bytes,
                fixed(double(st.flops) / 1e6, 2).c_str());
  }
  const double macs = double(flops) / 2;  // flops = 2 * multiply-adds
  std::printf("\ntotal: %s stored vs %s as fp32 (compression %sx), %s MFLOPs per image (%s %s multiply-adds)\n",
              format_bytes(bytes).c_str(), format_bytes(fp32).c_str(), fixed(ratio, 2).c_str(),
              fixed(double(flops) / 1e6, 2).c_str(), fixed(macs >= 1e9 ? macs / 1e9 : macs / 1e6, 2).c_str(),
              macs >= 1e9 ? "G" : "M");
  return 0;
}

}  // namespace

Command register_info(CLI::App& app) {
  auto o = std::make_shared<InfoOptions>();
  CLI::App* sub =
      app.add_subcommand("info", "Show a model's layers, weight encodings, sizes and FLOPs");
  sub->footer("Bytes are as stored in the file (indices + codebooks, or dense fp32/fp16 "
              "weights, + bias); 'fp32 bytes' is the same layer with dense fp32 weights. "
              "FLOPs count 2 per multiply-add.");
  CLI::Option* pos =
      sub->add_option("MODEL", o->model, "Model file (.rpvk); default: the bundled model");
  sub->add_option("--model", o->model, "Same as MODEL")->type_name("PATH")->excludes(pos);
  sub->add_flag("--json", o->json, "Print machine-readable JSON on stdout");
  return {sub, [o] { return run(*o); }};
}

}  // namespace repvk::cli
