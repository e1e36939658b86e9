// SPDX-License-Identifier: MIT
// Writes what test_c_api.c checks against, since C has no CPU reference of its own:
//   model.rpvk            a small synthetic 4-bit model (3x20x24 input, 7 classes)
//   input.f32             2 preprocessed images
//   expected.f32          cpu::forward probabilities for them
//   expected_logits.f32   cpu::forward logits (softmax skipped) for them
//   pixels.u8             a 33x27 RGB image (8-bit, interleaved)
//   expected_pixels.f32   cpu::forward(preprocess(pixels))
//   pixels_rgba.u8        a 40x31 RGBA image with varying alpha (for the VkImage path)
//   expected_rgba.f32     cpu::forward(preprocess(pixels_rgba))
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "repvk/cpu_reference.h"
#include "repvk/model.h"
#include "repvk/network.h"
#include "repvk/synthetic.h"

namespace {

template <typename T>
void write(const std::string& path, const std::vector<T>& v) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(T)));
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_c_api_fixture OUTDIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  try {
    repvk::SyntheticConfig cfg = repvk::synthetic_preset("small");
    cfg.in_channels = 3;
    cfg.height = 20;
    cfg.width = 24;
    cfg.num_classes = 7;
    cfg.class_names.clear();  // the preset names its 10 classes
    cfg.stage_widths = {8, 8, 16, 16, 16};
    cfg.mean = {0.5f, 0.4f, 0.3f};
    cfg.std = {0.25f, 0.3f, 0.35f};
    cfg.seed = 42;
    const repvk::Model model = repvk::make_synthetic_model(cfg);
    repvk::write_model(model, dir + "/model.rpvk");

    const size_t per_image = size_t(3) * 20 * 24;
    std::vector<float> input(per_image * 2);
    for (size_t i = 0; i < input.size(); ++i) input[i] = float(int(i * 7919 % 401) - 200) / 100.0f;
    write(dir + "/input.f32", input);
    write(dir + "/expected.f32", repvk::cpu::forward(model, input.data(), 2));
    write(dir + "/expected_logits.f32", repvk::cpu::forward(model, input.data(), 2, true));

    repvk::Image img;
    img.width = 33;
    img.height = 27;
    img.channels = 3;
    img.pixels.resize(size_t(33) * 27 * 3);
    for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t(i * 131 % 251);
    write(dir + "/pixels.u8", img.pixels);
    const std::vector<float> x = repvk::preprocess(img, model.input);
    write(dir + "/expected_pixels.f32", repvk::cpu::forward(model, x.data(), 1));

    repvk::Image rgba;
    rgba.width = 40;
    rgba.height = 31;
    rgba.channels = 4;
    rgba.pixels.resize(size_t(40) * 31 * 4);
    for (size_t i = 0; i < rgba.pixels.size(); ++i) rgba.pixels[i] = uint8_t(i * 97 % 241 + 7);
    write(dir + "/pixels_rgba.u8", rgba.pixels);
    const std::vector<float> xr = repvk::preprocess(rgba, model.input);
    write(dir + "/expected_rgba.f32", repvk::cpu::forward(model, xr.data(), 1));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_c_api_fixture: %s\n", e.what());
    return 1;
  }
  return 0;
}
