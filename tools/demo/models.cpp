// SPDX-License-Identifier: MIT
#include "models.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "asset_dirs.h"
#include "repvk/error.h"
#include "repvk/synthetic.h"

namespace fs = std::filesystem;

namespace repvk::demo {

namespace {

std::vector<std::string> rpvk_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".rpvk" && it->is_regular_file(ec))
      out.push_back(it->path().string());
  return out;
}

ModelEntry from_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error("model file '" + path + "' does not exist");
  ModelEntry e;
  e.model = read_model(path);
  validate_model(e.model, path);
  e.source = path;
  e.bits = model_bits(e.model);
  e.mixed = model_is_mixed(e.model);
  return e;
}

// Same generator and seed as `repvk`'s fallback, so the 4-bit entry is the model
// `repvk classify` uses and the two agree on every image.
ModelEntry synthetic(uint32_t bits) {
  SyntheticConfig cfg = synthetic_preset("small");
  cfg.quantized = bits != 0;
  if (bits) cfg.bits = bits;
  cfg.granularity = CodebookGranularity::PerOutputChannel;
  cfg.seed = 1;
  ModelEntry e;
  e.model = make_synthetic_model(cfg);
  e.bits = bits;
  e.synthetic = true;
  e.source = "synthetic 'small', " +
             (bits ? std::to_string(bits) + "-bit per-channel codebooks" : "fp32 weights") +
             ", seed 1";
  return e;
}

}  // namespace

std::string ModelEntry::label() const {
  if (mixed) return "mixed";
  return bits ? std::to_string(bits) + "-bit" : std::string("fp32");
}

bool model_is_mixed(const Model& model) {
  std::vector<uint32_t> widths;  // 0: dense
  for (const Layer& l : model.layers)
    if (l.has_weights())
      widths.push_back(l.weights.encoding == WeightEncoding::Codebook ? l.weights.bits : 0);
  if (widths.size() < 3) return false;
  const uint32_t inner = widths[1];
  for (size_t i = 1; i + 1 < widths.size(); ++i)
    if (widths[i] != inner) return true;
  for (uint32_t end : {widths.front(), widths.back()})
    if (end != inner && end != 8 && end != 0) return true;
  return false;
}

uint32_t model_bits(const Model& model) {
  // The width most weights are stored at: quantized models keep the first conv and
  // the fc at 8 bits, and calling a 4-bit model "8-bit" for that would mislead.
  uint64_t weights_at[9] = {};  // index 0: dense fp32
  for (const Layer& l : model.layers) {
    if (!l.has_weights()) continue;
    const bool codebook = l.weights.encoding == WeightEncoding::Codebook;
    const uint32_t b = codebook && l.weights.bits <= 8 ? l.weights.bits : 0;
    weights_at[b] += uint64_t(l.out_channels) * l.row_length();
  }
  uint32_t bits = 0;
  for (uint32_t b = 1; b <= 8; ++b)
    if (weights_at[b] > weights_at[bits]) bits = b;
  return bits;
}

ModelSet load_models(const std::vector<std::string>& files, const std::string& dir) {
  std::vector<std::string> paths = files;
  if (paths.empty() && !dir.empty()) {
    paths = rpvk_files(dir);
    if (paths.empty()) throw Error("no .rpvk model files in '" + dir + "'");
  }
  if (paths.empty())
    for (const auto& d : tools::default_model_dirs())
      if (!(paths = rpvk_files(d)).empty()) break;

  ModelSet set;
  if (paths.empty()) {
    for (uint32_t bits : {2u, 3u, 4u, 8u, 0u}) set.models.push_back(synthetic(bits));
    set.note =
        "no trained model bundled yet: using deterministic synthetic models with random "
        "2/3/4/8-bit codebooks and fp32 weights (predictions are meaningless)";
  } else {
    for (const auto& p : paths) set.models.push_back(from_file(p));
  }
  // fp32 sorts after every bit width; equal widths by file name.
  std::stable_sort(set.models.begin(), set.models.end(),
                   [](const ModelEntry& a, const ModelEntry& b) {
                     const uint32_t ka = a.bits ? a.bits : 99, kb = b.bits ? b.bits : 99;
                     if (ka != kb) return ka < kb;
                     return a.source < b.source;
                   });
  set.initial = 0;
  for (size_t i = 0; i < set.models.size(); ++i) {
    const ModelEntry& m = set.models[i];
    if (!m.synthetic && fs::path(m.source).filename() == "default.rpvk") {
      set.initial = i;
      break;
    }
    if (m.bits == 4) set.initial = i;
  }
  return set;
}

}  // namespace repvk::demo
