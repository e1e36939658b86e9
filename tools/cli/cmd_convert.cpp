// SPDX-License-Identifier: MIT
// `repvk convert`: rewrites a model file with its weights stored as fp16 or fp32
// (dense weights and codebooks separately). The engine always computes in fp32;
// fp16 storage halves the file and rounds each weight to the nearest half.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "common.h"
#include "repvk/error.h"

namespace fs = std::filesystem;

namespace repvk::cli {
namespace {

struct ConvertOptions {
  std::string in;
  std::string out;
  std::string dense;      // "", "fp16" or "fp32"; "" leaves dense layers as they are
  std::string codebooks;  // likewise for codebook layers
};

ValueStorage parse_storage(const std::string& s) {
  return s == "fp16" ? ValueStorage::Fp16 : ValueStorage::Fp32;
}

float round_to(ValueStorage s, float v) {
  return s == ValueStorage::Fp16 ? half_to_float(float_to_half(v)) : v;
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (fs::exists(b, ec) && fs::equivalent(a, b, ec)) return true;  // links included
  const fs::path ca = fs::weakly_canonical(a, ec);
  if (ec) return false;
  const fs::path cb = fs::weakly_canonical(b, ec);
  return !ec && ca == cb;
}

std::string file_size_string(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return "?";
  return format_bytes(size) + ", " + std::to_string(size) + " bytes";
}

std::string nothing_changed_message(const ConvertOptions& o, int dense_layers,
                                    int codebook_layers) {
  std::string msg = "nothing to convert in '" + o.in + "': it has " +
                    std::to_string(dense_layers) + " dense and " +
                    std::to_string(codebook_layers) + " codebook layer(s)";
  if (!o.dense.empty() && dense_layers == 0)
    msg += "; --dense applies to dense (unquantized) weights only, and this model is "
           "quantized: --codebooks fp16 stores its codebook values as fp16 (the indices "
           "are already packed)";
  else
    msg += ", already stored as requested";
  return msg + "; " + o.out + " was not written";
}

int run(const ConvertOptions& o) {
  if (o.dense.empty() && o.codebooks.empty())
    throw UsageError("nothing to convert: give --dense fp16|fp32 and/or --codebooks fp16|fp32");
  Model m = load_model_file(o.in).model;
  if (same_file(o.in, o.out))
    throw UsageError("OUT '" + o.out + "' is the input file itself; write to a new file " +
                     "(then rename it over the input if that is what you want)");
  const std::vector<Layer> before = m.layers;

  int dense_changed = 0, codebook_changed = 0, dense_layers = 0, codebook_layers = 0;
  for (Layer& l : m.layers) {
    if (!l.has_weights()) continue;
    Weights& w = l.weights;
    dense_layers += w.encoding == WeightEncoding::Fp32;
    codebook_layers += w.encoding == WeightEncoding::Codebook;
    if (w.encoding == WeightEncoding::Fp32 && !o.dense.empty()) {
      const ValueStorage s = parse_storage(o.dense);
      dense_changed += w.dense_storage != s;
      w.dense_storage = s;
    } else if (w.encoding == WeightEncoding::Codebook && !o.codebooks.empty()) {
      const ValueStorage s = parse_storage(o.codebooks);
      codebook_changed += w.codebook_storage != s;
      w.codebook_storage = s;
    }
  }
  // Writing an identical copy would look like success; say why nothing changed and
  // which flag does apply to this model.
  if (dense_changed + codebook_changed == 0)
    throw Error(nothing_changed_message(o, dense_layers, codebook_layers));
  // Before rounding, so an out-of-range value is reported as such (naming its layer)
  // rather than as the infinity it would round to.
  try {
    validate_model(m, o.in);
  } catch (const ModelError& e) {
    const int i = e.layer();
    if (i < 0 || size_t(i) >= m.layers.size()) throw;
    const Layer& l = m.layers[size_t(i)];
    const std::string hint = l.weights.encoding == WeightEncoding::Fp32
                                 ? " (keep this model's dense weights at --dense fp32)"
                                 : " (keep this model's codebooks at --codebooks fp32)";
    throw ModelError(e.source(), i, l.type, e.problem() + hint);
  }
  // The in-memory model takes the stored values, so the file written below and the
  // model it was written from agree exactly.
  double max_change = 0;
  for (size_t i = 0; i < m.layers.size(); ++i) {
    Layer& l = m.layers[i];
    if (!l.has_weights()) continue;
    Weights& w = l.weights;
    if (w.encoding == WeightEncoding::Fp32)
      for (float& v : w.dense) v = round_to(w.dense_storage, v);
    else
      for (float& v : w.codebooks) v = round_to(w.codebook_storage, v);
    const std::vector<float> old_w = decode_weights(before[i]);
    const std::vector<float> new_w = decode_weights(l);
    for (size_t k = 0; k < old_w.size(); ++k)
      max_change = std::max(max_change, std::fabs(double(new_w[k]) - double(old_w[k])));
  }

  write_model(m, o.out);

  std::string what;
  if (!o.dense.empty())
    what += std::to_string(dense_changed) + " dense layer(s) changed to " + o.dense;
  if (!o.codebooks.empty())
    what += (what.empty() ? "" : ", ") + std::to_string(codebook_changed) +
            " codebook layer(s) changed to " + o.codebooks;
  char change[32];
  std::snprintf(change, sizeof change, "%.3g", max_change);
  std::printf("converted %s (%s) -> %s (%s): %s; max |weight change| %s\n", o.in.c_str(),
              file_size_string(o.in).c_str(), o.out.c_str(), file_size_string(o.out).c_str(),
              what.c_str(), change);
  return 0;
}

}  // namespace

Command register_convert(CLI::App& app) {
  auto o = std::make_shared<ConvertOptions>();
  CLI::App* sub = app.add_subcommand(
      "convert", "Rewrite a model with its weights stored as fp16 or fp32 (file size)");
  sub->footer(
      "Storage only changes the file: weights are widened to fp32 on load and the engine\n"
      "computes as before. fp16 rounds each value to the nearest half (ties to even) and\n"
      "halves the weight bytes; values beyond fp16's range (|v| >= 65520) are an error.\n"
      "Biases always stay fp32. OUT is replaced atomically and must not be IN. --dense\n"
      "applies to unquantized models, --codebooks to quantized ones; when neither changes\n"
      "anything, convert writes nothing and exits with status 1.\n"
      "Example:\n"
      "  repvk convert model.rpvk model-fp16.rpvk --dense fp16 && repvk info model-fp16.rpvk");
  sub->add_option("IN", o->in, "Model file to read (.rpvk)")->required();
  sub->add_option("OUT", o->out, "Model file to write (.rpvk)")->required();
  sub->add_option("--dense", o->dense,
                  "Storage of dense (uncompressed) weights; default: leave as they are")
      ->check(CLI::IsMember({"fp16", "fp32"}));
  sub->add_option("--codebooks", o->codebooks,
                  "Storage of codebook values; default: leave as they are")
      ->check(CLI::IsMember({"fp16", "fp32"}));
  return {sub, [o] { return run(*o); }};
}

}  // namespace repvk::cli
