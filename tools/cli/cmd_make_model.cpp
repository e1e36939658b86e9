// SPDX-License-Identifier: MIT
// `repvk make-model`: writes a deterministic synthetic model file, for tests,
// benchmarks and trying the tools before a trained model exists.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "common.h"
#include "repvk/synthetic.h"

namespace repvk::cli {
namespace {

struct MakeModelOptions {
  std::string out;
  std::string preset = "small";
  uint32_t bits = 4;
  bool fp32_weights = false;
  std::string granularity = "channel";
  uint64_t seed = 1;
  uint32_t resize_shorter = 0;  // 0: stretch
};

int run(const MakeModelOptions& o) {
  const uint32_t bits = o.fp32_weights ? 0 : o.bits;
  const auto gran = o.granularity == "layer" ? CodebookGranularity::PerLayer
                                             : CodebookGranularity::PerOutputChannel;
  Model m = build_synthetic(o.preset, bits, gran, o.seed);
  if (o.resize_shorter != 0) {
    m.input.resize = InputResize::ShorterSideCrop;
    m.input.resize_shorter = o.resize_shorter;
  }
  write_model(m, o.out);  // validates: a shorter side below the crop is refused
  std::error_code ec;
  const auto size = std::filesystem::file_size(o.out, ec);
  std::printf("wrote %s (%s): %s, %zu layers, %s\n", o.out.c_str(),
              ec ? "?" : format_bytes(size).c_str(), m.name.c_str(), m.layers.size(),
              synthetic_description(o.preset, bits, gran, o.seed).c_str());
  return 0;
}

}  // namespace

Command register_make_model(CLI::App& app) {
  auto o = std::make_shared<MakeModelOptions>();
  CLI::App* sub =
      app.add_subcommand("make-model", "Write a deterministic synthetic model to a .rpvk file");
  sub->footer("The weights are random (RepVGG shape, k-means codebooks), so predictions are\n"
              "meaningless; equal options give identical files. OUT is replaced atomically.");
  sub->add_option("OUT", o->out, "Output file, e.g. tiny.rpvk")->required();
  sub->add_option("--synthetic", o->preset,
                  "Architecture: small (1x28x28, 10 classes), A0, A1, B0 (3x224x224, 1000 "
                  "classes)")
      ->type_name("PRESET")
      ->check(CLI::IsMember(synthetic_preset_names()))
      ->capture_default_str();
  CLI::Option* bits = sub->add_option("--bits", o->bits, "Codebook index bits per weight")
                          ->type_name("B")
                          ->check(CLI::Range(1u, 8u))
                          ->capture_default_str();
  sub->add_flag("--fp32-weights", o->fp32_weights, "Dense fp32 weights instead of codebooks")
      ->excludes(bits);
  sub->add_option("--granularity", o->granularity,
                  "One codebook per layer or one per output channel")
      ->check(CLI::IsMember({"layer", "channel"}))
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "Random seed; equal seeds give identical files")
      ->type_name("S")
      ->capture_default_str();
  sub->add_option("--resize", o->resize_shorter,
                  "Store an input resize: the shorter side of an image becomes N pixels, "
                  "then the centre HxW is cropped (default: stretch the whole image)")
      ->type_name("N")
      ->check(CLI::Range(1u, 4096u));
  return {sub, [o] { return run(*o); }};
}

}  // namespace repvk::cli
