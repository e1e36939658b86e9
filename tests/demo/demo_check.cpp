// SPDX-License-Identifier: MIT
// Checks for the repvk-demo tests (tests/demo/run_demo.sh):
//   demo_check png FILE W H            the screenshot decodes, is W x H, and is not blank
//   demo_check label DEMO.json CLI.json  the demo's top-1 label equals `repvk classify`'s
//   demo_check make-jpeg FILE          writes a small RGB JPEG (a colour test input)
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "demo_check: FAIL: %s\n", message.c_str());
  return 1;
}

int check_png(const char* path, int want_w, int want_h) {
  int w = 0, h = 0, c = 0;
  unsigned char* px = stbi_load(path, &w, &h, &c, 4);
  if (!px) return fail(std::string("cannot decode ") + path + ": " + stbi_failure_reason());
  std::set<uint32_t> colours;
  size_t non_background = 0;
  const uint32_t background = px[0] | px[1] << 8 | px[2] << 16;
  for (size_t i = 0; i < size_t(w) * h; ++i) {
    const uint32_t rgb = px[4 * i] | px[4 * i + 1] << 8 | px[4 * i + 2] << 16;
    colours.insert(rgb);
    non_background += rgb != background;
  }
  stbi_image_free(px);
  std::printf("demo_check: %s: %dx%d, %zu colours, %.1f%% not background\n", path, w, h,
              colours.size(), 100.0 * double(non_background) / (double(w) * h));
  if (w != want_w || h != want_h)
    return fail("expected " + std::to_string(want_w) + "x" + std::to_string(want_h));
  // The panel's text and bars plus a grayscale image give hundreds of colours and
  // cover a good part of the window; a blank or clear-only frame has one.
  if (colours.size() < 32) return fail("the screenshot looks blank (too few colours)");
  if (non_background < size_t(w) * h / 10) return fail("the screenshot is mostly background");
  return 0;
}

nlohmann::json read_json(const char* path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

int check_label(const char* demo_path, const char* cli_path) {
  const auto demo = read_json(demo_path);
  const auto cli = read_json(cli_path);
  const auto& d = demo.at("top").at(0);
  const auto& c = cli.at("results").at(0).at("top").at(0);
  std::printf("demo_check: demo says %s (%d, %.4f), repvk classify says %s (%d, %.4f)\n",
              d.at("name").get<std::string>().c_str(), d.at("label").get<int>(),
              d.at("probability").get<double>(), c.at("name").get<std::string>().c_str(),
              c.at("label").get<int>(), c.at("probability").get<double>());
  if (demo.at("model").get<std::string>() != cli.at("model").get<std::string>())
    return fail("the two runs used different models");
  if (d.at("label") != c.at("label")) return fail("labels differ");
  return 0;
}

int make_jpeg(const char* path) {
  const int w = 45, h = 31;
  unsigned char px[w * h * 3];
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      unsigned char* p = &px[(y * w + x) * 3];
      p[0] = static_cast<unsigned char>(x * 255 / w);
      p[1] = static_cast<unsigned char>(y * 255 / h);
      p[2] = static_cast<unsigned char>((x + y) % 2 ? 200 : 40);
    }
  return stbi_write_jpg(path, w, h, 3, px, 90) ? 0 : fail(std::string("cannot write ") + path);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  try {
    if (cmd == "png" && argc == 5) return check_png(argv[2], std::atoi(argv[3]), std::atoi(argv[4]));
    if (cmd == "label" && argc == 4) return check_label(argv[2], argv[3]);
    if (cmd == "make-jpeg" && argc == 3) return make_jpeg(argv[2]);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  std::fprintf(stderr, "usage: demo_check png FILE W H | label DEMO.json CLI.json | make-jpeg FILE\n");
  return 2;
}
