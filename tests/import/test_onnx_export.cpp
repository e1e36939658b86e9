// SPDX-License-Identifier: MIT
// `repvk-train export-onnx`: a shipped model exported to ONNX must pass onnx.checker
// and, run by OpenCV's DNN module, give the engine's logits on the same pixels
// (check_onnx_opencv.py), within 1e-4 of the largest logit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "gpu_fixture.h"
#include "common.h"
#include "onnx/onnx_export.h"
#include "repvk/network.h"

namespace repvk::train {
namespace {

void write_f32(const std::string& path, const std::vector<float>& v) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * 4));
}

class OnnxExport : public test::GpuTest {};

TEST_F(OnnxExport, ShippedModelRunsInOpenCvLikeTheEngine) {
  const std::string dir = REPVK_ONNX_WORK, src = std::string(REPVK_ROOT) + "/assets/models/default.rpvk";
  std::filesystem::create_directories(dir);
  const repvk::Model m = repvk::read_model(src);
  export_onnx(m, src, dir + "/default.onnx");

  // Fresh random 8-bit pixel values (as decoded images give), poisoned output first.
  const uint32_t batch = 8, c = m.input.channels, h = m.input.height, w = m.input.width;
  std::mt19937 rng(std::random_device{}());
  std::vector<float> pixels(size_t(batch) * c * h * w), input(pixels.size());
  for (size_t i = 0; i < pixels.size(); ++i) {
    pixels[i] = float(rng() % 256) / 255.0f;
    const size_t ch = (i / (size_t(h) * w)) % c;
    input[i] = (pixels[i] - m.input.mean[ch]) / m.input.std[ch];
  }
  NetworkOptions o;
  o.precision = Precision::Fp32;
  o.pipeline_cache_path = "none";
  Network net(device(), m, o);
  // The poison is in the network's own device buffers: a batch of NaN images first
  // (NaN, or whatever the ReLUs make of it), so a logit the real batch does not write
  // keeps that batch's value and fails the checks below.
  const std::vector<float> poisoned = net.infer_logits(std::vector<float>(input.size(), NAN), batch);
  const std::vector<float> logits = net.infer_logits(input, batch);
  ASSERT_EQ(logits.size(), size_t(batch) * net.num_classes());
  ASSERT_EQ(poisoned.size(), logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    ASSERT_TRUE(std::isfinite(logits[i])) << "logit " << i;
    ASSERT_FALSE(logits[i] == poisoned[i]) << "logit " << i << " kept the poisoned batch's value";
  }
  write_f32(dir + "/pixels.f32", pixels);
  write_f32(dir + "/logits.f32", logits);

  const std::string cmd = std::string(REPVK_PYTHON) + " " + REPVK_ROOT + "/tests/import/check_onnx_opencv.py " +
                          dir + "/default.onnx " + dir + "/pixels.f32 " + dir + "/logits.f32 " +
                          std::to_string(batch) + " " + std::to_string(c) + " " + std::to_string(h) + " " +
                          std::to_string(w);
  const int rc = std::system(cmd.c_str());
  ASSERT_NE(rc, -1);
  if (WEXITSTATUS(rc) == 77) GTEST_SKIP() << "python3-onnx / python3-opencv not installed";
  EXPECT_EQ(WEXITSTATUS(rc), 0) << cmd;
}

TEST(OnnxExportErrors, UnwritablePathNamed) {
  const repvk::Model m = repvk::read_model(std::string(REPVK_ROOT) + "/assets/models/default.rpvk");
  try {
    export_onnx(m, "default.rpvk", "/nonexistent-dir/x.onnx");
    FAIL() << "wrote into a missing folder";
  } catch (const TrainError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x.onnx"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace repvk::train
