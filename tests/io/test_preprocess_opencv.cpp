// SPDX-License-Identifier: MIT
// repvk::preprocess against OpenCV: resize (stretch, or shorter side + centre crop),
// channel order and mean/std, on the bundled photo and on random images. The
// references come from tests/io/preprocess_opencv.py (cv2.resize INTER_LINEAR); the
// test runs it into the build tree and skips, saying why, when cv2 is missing.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "repvk/image_io.h"
#include "repvk/network.h"

namespace {

std::vector<float> read_floats(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  f.seekg(0, std::ios::end);
  const auto bytes = size_t(f.tellg());
  f.seekg(0);
  std::vector<float> v(bytes / sizeof(float));
  f.read(reinterpret_cast<char*>(v.data()), std::streamsize(v.size() * sizeof(float)));
  return v;
}

struct Diff {
  double max = 0, mean = 0;
};

Diff diff(const std::vector<float>& a, const std::vector<float>& b) {
  Diff d;
  for (size_t i = 0; i < a.size(); ++i) {
    const double e = std::fabs(double(a[i]) - double(b[i]));
    d.max = std::max(d.max, e);
    d.mean += e;
  }
  d.mean /= double(std::max<size_t>(a.size(), 1));
  return d;
}

TEST(PreprocessOpenCV, MatchesCv2ResizeAndCentreCrop) {
  const std::string dir = REPVK_OPENCV_WORK;
  const std::string cmd = std::string(REPVK_PYTHON) + " " + REPVK_SOURCE_DIR +
                          "/tests/io/preprocess_opencv.py " + REPVK_SOURCE_DIR +
                          "/assets/photos/landscape.jpg " + dir;
  const int rc = std::system(cmd.c_str());
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77)
    GTEST_SKIP() << "no python3 with cv2 (python3-opencv) at " << REPVK_PYTHON;
  ASSERT_EQ(rc, 0) << cmd;

  repvk::InputSpec spec;
  spec.channels = 3;
  spec.mean = {0.485f, 0.456f, 0.406f};
  spec.std = {0.229f, 0.224f, 0.225f};
  const double min_std = 0.224;
  // Float path: OpenCV computes each source coordinate in float, so for coordinates
  // below 1024 a weight is off by up to 2^-14 (half an ulp of 512..1024 is 2^-14):
  // times a pixel step of at most 1, over std 0.224, that is 2.7e-4. Everything else
  // is fp32 rounding (~1e-6). The mean difference shows the typical case is ~1e-6.
  const double float_tolerance = 0x1p-14 / min_std;
  // uint8 path: cv2 rounds to the nearest code after fixed-point (11-bit) weights:
  // at most one code, 1/255 over std 0.224.
  const double u8_tolerance = 1.0 / 255.0 / min_std + 1e-6;

  std::ifstream manifest(dir + "/manifest.txt");
  ASSERT_TRUE(manifest) << dir << "/manifest.txt";
  int cases = 0;
  for (std::string line; std::getline(manifest, line);) {
    std::istringstream in(line);
    int n = 0;
    uint32_t h = 0, w = 0, shorter = 0;
    ASSERT_TRUE(in >> n >> h >> w >> shorter) << line;
    SCOPED_TRACE("case " + std::to_string(n) + ": " + std::to_string(h) + "x" +
                 std::to_string(w) + ", shorter side " + std::to_string(shorter));
    spec.height = h;
    spec.width = w;
    spec.resize = shorter ? repvk::InputResize::ShorterSideCrop : repvk::InputResize::Stretch;
    spec.resize_shorter = shorter;
    const std::string base = dir + "/case_" + std::to_string(n);
    const auto got = repvk::preprocess(repvk::load_image(base + ".png"), spec);
    const auto ref = read_floats(base + ".f32");
    const auto ref_u8 = read_floats(base + ".u8.f32");
    ASSERT_EQ(got.size(), size_t(3) * h * w);
    ASSERT_EQ(ref.size(), got.size());
    ASSERT_EQ(ref_u8.size(), got.size());
    const Diff f = diff(got, ref), u = diff(got, ref_u8);
    EXPECT_LE(f.max, float_tolerance);
    EXPECT_LE(f.mean, 1e-5);
    EXPECT_LE(u.max, u8_tolerance);
    EXPECT_LE(u.mean, 0.5 / 255.0 / min_std);
    std::printf("case %d: max |diff| %.2e (float cv2), %.2e (uint8 cv2); mean %.2e, %.2e\n", n,
                f.max, u.max, f.mean, u.mean);
    ++cases;
  }
  EXPECT_EQ(cases, 5);
}

TEST(PreprocessOpenCV, CropDiffersFromStretch) {
  // A guard for the test above: on a 2:1 image the two modes must give different
  // tensors, or the comparison would not show that the crop is applied.
  repvk::Image img;
  img.width = 64;
  img.height = 32;
  img.channels = 3;
  img.pixels.resize(64 * 32 * 3);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t((i / 3 % 64) * 4);
  repvk::InputSpec spec;
  spec.channels = 3;
  spec.height = spec.width = 16;
  spec.mean = {0, 0, 0};
  spec.std = {1, 1, 1};
  const auto stretch = repvk::preprocess(img, spec);
  spec.resize = repvk::InputResize::ShorterSideCrop;
  spec.resize_shorter = 16;
  const auto cropped = repvk::preprocess(img, spec);
  // Stretch spans the whole ramp; the centre crop covers its middle half only.
  EXPECT_LT(stretch[0], 0.05f);
  // Resized to 32x16, crop from x = 8: source x = (0 + 8 + 0.5) * 2 - 0.5 = 16.5.
  EXPECT_NEAR(cropped[0], 16.5f * 4.0f / 255.0f, 1e-5f);
}

}  // namespace
