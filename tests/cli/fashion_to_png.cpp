// SPDX-License-Identifier: MIT
// Writes the first N images of a Fashion-MNIST split as 28x28 gray PNGs plus a
// labels.tsv (file, label, class name). Used by the CLI tests to get real images
// for `repvk classify`, and to produce assets/samples.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <CLI/CLI.hpp>
#include <stb/stb_image_write.h>

#include "idx.h"

int main(int argc, char** argv) {
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::string split = "test";
  std::string out;
  uint32_t count = 10, first = 0;
  CLI::App app{"Extract Fashion-MNIST images to PNG files with a labels.tsv", "fashion_to_png"};
  app.add_option("--data", data, "Folder with the Fashion-MNIST .gz files")->capture_default_str();
  app.add_option("--split", split, "test or train")
      ->check(CLI::IsMember({"test", "train"}))
      ->capture_default_str();
  app.add_option("--first", first, "Index of the first image to write")->capture_default_str();
  app.add_option("--count", count, "How many images to write")
      ->check(CLI::Range(1u, 100000u))
      ->capture_default_str();
  app.add_option("--out", out, "Output folder (created if needed)")->required();
  CLI11_PARSE(app, argc, argv);

  try {
    const auto d = repvk::tools::load_fashion_mnist(data, split, first + count);
    if (d.images.count <= first) {
      std::fprintf(stderr, "fashion_to_png: --first %u is past the %u images\n", first,
                   d.images.count);
      return 1;
    }
    std::filesystem::create_directories(out);
    std::ofstream tsv(std::filesystem::path(out) / "labels.tsv");
    tsv << "file\tlabel\tname\n";
    const auto& names = repvk::tools::fashion_mnist_class_names();
    const int w = int(d.images.cols), h = int(d.images.rows);
    for (uint32_t i = first; i < d.images.count; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "sample_%03u.png", i);
      const std::string path = (std::filesystem::path(out) / name).string();
      const uint8_t* px = d.images.pixels.data() + size_t(i) * size_t(w) * size_t(h);
      if (!stbi_write_png(path.c_str(), w, h, 1, px, w)) {
        std::fprintf(stderr, "fashion_to_png: cannot write %s\n", path.c_str());
        return 1;
      }
      const uint8_t label = d.labels.labels[i];
      tsv << name << '\t' << unsigned(label) << '\t'
          << (label < names.size() ? names[label] : std::string("?")) << '\n';
    }
    if (!tsv.flush()) {
      std::fprintf(stderr, "fashion_to_png: cannot write labels.tsv in %s\n", out.c_str());
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fashion_to_png: %s\n", e.what());
    return 1;
  }
  return 0;
}
