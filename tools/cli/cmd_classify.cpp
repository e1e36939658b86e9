// SPDX-License-Identifier: MIT
// `repvk classify`: decode images, run them as one batch, print the top-k classes.
#include <cstdio>
#include <memory>

#include "common.h"
#include "input_fit.h"
#include "repvk/cpu_reference.h"
#include "repvk/error.h"
#include "repvk/image_io.h"

namespace repvk::cli {
namespace {

struct ClassifyOptions {
  std::string model;
  std::vector<std::string> positionals;
  uint32_t top = 5;
  bool json = false;
  bool cpu = false;
  GpuOptions gpu;
};

const char* channels_name(uint32_t c) {
  switch (c) {
    case 1: return "gray";
    case 3: return "RGB";
    case 4: return "RGBA";
    default: return "?";
  }
}

int run(const ClassifyOptions& o) {
  parse_precision(o.gpu);  // flag contradictions are usage errors, whatever else fails
  std::string model_path = o.model;
  std::vector<std::string> images = o.positionals;
  // A leading .rpvk positional is the model: `repvk classify m.rpvk a.png` reads
  // naturally, and an image file never carries that extension.
  if (model_path.empty() && !images.empty() && has_model_extension(images.front())) {
    model_path = images.front();
    images.erase(images.begin());
  }
  if (images.empty()) throw UsageError("classify needs at least one IMAGE");
  for (const auto& p : images)
    if (has_model_extension(p))
      throw UsageError("'" + p + "' looks like a model; give the model first or with --model");

  // Decode everything before starting the device: a bad image fails fast.
  std::vector<Image> decoded;
  decoded.reserve(images.size());
  for (const auto& p : images) decoded.push_back(load_image(p));

  const LoadedModel lm = load_model_or_default(model_path);
  const Model& m = lm.model;
  const uint32_t batch = uint32_t(decoded.size());
  std::vector<float> input;
  for (const auto& img : decoded) {
    const auto t = preprocess(img, m.input);
    input.insert(input.end(), t.begin(), t.end());
  }

  // Still classified, but the user hears once what the model expects and, per
  // image, what pre-processing did to each image that does not suit it.
  std::vector<std::string> notices(batch);
  bool said_expects = false;
  for (uint32_t i = 0; i < batch; ++i) {
    const Image& img = decoded[i];
    const tools::InputFit fit = tools::input_fit(
        m, {img.width, img.height, img.channels,
            tools::has_colour(img.pixels.data(), img.width, img.height, img.channels)});
    if (fit.fits) continue;
    notices[i] = fit.notice();
    if (!said_expects) std::fprintf(stderr, "repvk: note: %s\n", fit.expects.c_str());
    said_expects = true;
    std::fprintf(stderr, "repvk: note: %s: %s, so its labels say little about it\n",
                 images[i].c_str(), fit.happened.c_str());
  }
  if (said_expects)
    std::fprintf(stderr, "repvk: note: for photos, import an ImageNet RepVGG "
                         "(docs/import.md)\n");

  std::vector<float> probs;
  std::string device = "CPU reference", precision = "fp32";
  if (o.cpu) {
    probs = cpu::forward(m, input.data(), batch);
  } else {
    GpuSession session(o.gpu);
    {
      Network net(session.device(), m, session.network_options(batch));
      probs = net.infer(input, batch);
      precision = precision_name(net.precision());
    }
    device = session.device_name();
    session.finish();
  }
  const uint32_t classes = m.num_classes();
  if (probs.size() != size_t(batch) * classes)
    throw Error("inference returned " + std::to_string(probs.size()) + " values, expected " +
                std::to_string(size_t(batch) * classes));

  // A model may end at its logits; the user asked for probabilities either way.
  if (!m.layers.empty() && m.layers.back().type != LayerType::Softmax)
    cpu::softmax(probs.data(), batch, classes, probs.data());

  if (o.json) {
    nlohmann::json j = run_json_header(lm, device, precision);
    j["results"] = nlohmann::json::array();
    for (uint32_t i = 0; i < batch; ++i) {
      nlohmann::json r;
      r["image"] = images[i];
      r["width"] = decoded[i].width;
      r["height"] = decoded[i].height;
      r["channels"] = decoded[i].channels;
      if (!notices[i].empty()) r["input_notice"] = notices[i];
      r["top"] = nlohmann::json::array();
      for (const auto& p : top_k(&probs[size_t(i) * classes], classes, o.top))
        r["top"].push_back(
            {{"label", p.label}, {"name", class_name(m, p.label)}, {"probability", p.probability}});
      j["results"].push_back(r);
    }
    print_json(j);
    return 0;
  }

  std::printf("model %s on %s, precision %s\n", m.name.c_str(), device.c_str(), precision.c_str());
  for (uint32_t i = 0; i < batch; ++i) {
    std::printf("\n%s (%ux%u %s)\n", images[i].c_str(), decoded[i].width, decoded[i].height,
                channels_name(decoded[i].channels));
    int rank = 1;
    for (const auto& p : top_k(&probs[size_t(i) * classes], classes, o.top))
      std::printf("  %2d. %-24s %7.2f%%\n", rank++, class_name(m, p.label).c_str(),
                  double(p.probability) * 100.0);
  }
  return 0;
}

}  // namespace

Command register_classify(CLI::App& app) {
  auto o = std::make_shared<ClassifyOptions>();
  CLI::App* sub =
      app.add_subcommand("classify", "Classify image files (PNG, JPEG, BMP, ...): top-k classes");
  sub->footer(
      "Usage: repvk classify [MODEL.rpvk] IMAGE...\n"
      "A first argument ending in .rpvk is the model; without one the default model is used.\n"
      "All images run as one batch. Images are resized as the model says (`repvk info`:\n"
      "stretched to its input size, or shorter side resized then centre-cropped; bilinear)\n"
      "and converted to its channel count (gray <-> RGB, alpha dropped).");
  sub->add_option("ARGS", o->positionals, "[MODEL.rpvk] IMAGE...")->required();
  sub->add_option("--model", o->model, "Model file (.rpvk); then every ARG is an image")
      ->type_name("PATH");
  sub->add_option("--top", o->top, "How many classes to show per image")
      ->type_name("K")
      ->check(CLI::Range(1u, 100000u))
      ->capture_default_str();
  sub->add_flag("--json", o->json, "Print machine-readable JSON on stdout");
  sub->add_flag("--cpu", o->cpu, "Run the CPU reference implementation instead of the GPU");
  add_gpu_options(*sub, o->gpu);
  return {sub, [o] { return run(*o); }};
}

}  // namespace repvk::cli
