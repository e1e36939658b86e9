// SPDX-License-Identifier: MIT
// Classifies one image with repvk's C++ API: classify MODEL.rpvk IMAGE.png
#include <repvk/device.h>
#include <repvk/image_io.h>
#include <repvk/network.h>

#include <cstdio>
#include <exception>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) return std::fprintf(stderr, "usage: %s MODEL.rpvk IMAGE.png\n", argv[0]), 2;
  try {
    auto device = repvk::Device::create();  // the best Vulkan device; REPVK_DEVICE picks another
    repvk::Network net(*device, repvk::read_model(argv[1]));
    const std::vector<float> p = net.classify(repvk::load_image(argv[2]));
    const repvk::Prediction best = repvk::top_k(p.data(), net.num_classes(), 1).front();
    std::printf("%s %.1f%%\n", net.model().class_names[best.label].c_str(), 100.0 * best.probability);
    return 0;
  } catch (const std::exception& e) {
    return std::fprintf(stderr, "error: %s\n", e.what()), 1;
  }
}
