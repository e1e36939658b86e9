// SPDX-License-Identifier: MIT
// Whole networks end to end: each conv kernel and Auto on one model, the weights each
// kernel uploads, fp16-stored dense weights, timings, preprocessing, fp16 refused.
// Random networks under every kernel path: test_network_paths.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "gpu_fixture.h"
#include "network_test_util.h"
#include "ops/conv3x3_igemm.h"
#include "repvk/cpu_reference.h"
#include "repvk/error.h"
#include "repvk/network.h"
#include "repvk_internal/network_tuning.h"
#include "repvk/synthetic.h"

namespace repvk {
namespace {

using test::GpuTest;

uint64_t test_seed() {
  if (const char* s = std::getenv("REPVK_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

using test::max_rel_error;

// Every explicit kernel on one model (the name is from when there were two), and Auto
// to a concrete kernel. The FC layer follows the conv choice: the texel kernel under
// Texel, the GPU kernel (gemv, else rows) under Igemm, the storage kernel otherwise on a
// CPU device.
TEST_F(GpuTest, BothConvAlgorithmsMatchCpuReference) {
  const Model model = make_synthetic_model(synthetic_preset("small"));
  std::mt19937_64 rng(test_seed());
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  const uint32_t batch = 3;
  std::vector<float> input(size_t(model.input.channels) * model.input.height *
                           model.input.width * batch);
  for (float& v : input) v = u(rng);
  const auto ref = cpu::forward(model, input.data(), batch, true);
  for (ConvAlgorithm algo : {ConvAlgorithm::Direct, ConvAlgorithm::Tiled, ConvAlgorithm::Texel,
                             ConvAlgorithm::Igemm, ConvAlgorithm::Auto}) {
    SCOPED_TRACE(conv_algorithm_name(algo));
    NetworkOptions opts;
    tuning(opts).conv_algorithm = algo;
    opts.fp16_math = Fp16Math::Off;  // fp32 arithmetic, as the 1e-4 assumes
    opts.pipeline_cache_path = "none";
    Network net(device(), model, opts);
    if (algo == ConvAlgorithm::Auto)
      EXPECT_NE(conv_algorithm(net), ConvAlgorithm::Auto);
    else
      EXPECT_EQ(conv_algorithm(net), algo);
    EXPECT_LE(max_rel_error(net.infer_logits(input, batch), ref), 1e-4);
    bool saw_fc = false;
    const bool gpu_fc = device().info().type != VK_PHYSICAL_DEVICE_TYPE_CPU ||
                        conv_algorithm(net) == ConvAlgorithm::Igemm;
    for (const LayerPipelines& l : net.pipelines()) {
      ASSERT_FALSE(l.pipelines.empty()) << l.layer;
      const std::string& shader = l.pipelines[0].shader;
      if (shader.rfind("fully_connected", 0) != 0) continue;
      saw_fc = true;
      EXPECT_EQ(shader.rfind("fully_connected_texel", 0) == 0,
                conv_algorithm(net) == ConvAlgorithm::Texel)
          << shader;
      if (conv_algorithm(net) != ConvAlgorithm::Texel) {
        EXPECT_EQ(shader.rfind("fully_connected_gemv", 0) == 0 ||
                      shader.rfind("fully_connected_rows", 0) == 0,
                  gpu_fc)
            << shader;
      }
    }
    EXPECT_TRUE(saw_fc);
  }
}

// layer_weight_bytes() is what each conv kernel uploaded, in its own layout: the model's
// packed rows (direct, tiled), the igemm's padded index chunks, fp32 texels (texel), with
// codebooks and bias; the fc's layout depends on its kernel, and weightless layers are 0.
TEST_F(GpuTest, LayerWeightBytesAreTheUploadedLayouts) {
  const Model model = make_synthetic_model(synthetic_preset("small"));
  for (ConvAlgorithm algo :
       {ConvAlgorithm::Direct, ConvAlgorithm::Tiled, ConvAlgorithm::Texel, ConvAlgorithm::Igemm}) {
    SCOPED_TRACE(conv_algorithm_name(algo));
    NetworkOptions opts;
    tuning(opts).conv_algorithm = algo;
    opts.pipeline_cache_path = "none";
    Network net(device(), model, opts);
    const std::vector<uint64_t> bytes = net.layer_weight_bytes();
    ASSERT_EQ(bytes.size(), model.layers.size());
    for (size_t i = 0; i < model.layers.size(); ++i) {
      const Layer& l = model.layers[i];
      const Weights& w = l.weights;
      const bool dense = w.encoding == WeightEncoding::Fp32;
      const uint64_t bias = 4 * uint64_t(l.bias.size());
      const uint64_t codebooks = dense ? 4 : 4 * uint64_t(w.codebooks.size());
      const uint64_t stored = dense ? 4 * uint64_t(w.dense.size()) : 4 * uint64_t(w.packed.size());
      if (l.type == LayerType::Conv3x3) {
        uint64_t expected = stored + codebooks + bias;
        if (conv_algorithm(net) == ConvAlgorithm::Igemm)
          expected = 4 * uint64_t(igemm_repack_weights(l).size()) + codebooks + bias;
        if (conv_algorithm(net) == ConvAlgorithm::Texel)
          expected = 16 * uint64_t((l.out_channels + 3) / 4) * l.row_length() + bias;
        EXPECT_EQ(bytes[i], expected) << "layer " << i;
      } else if (l.type == LayerType::FullyConnected) {
        EXPECT_GE(bytes[i], stored + bias) << "layer " << i;
      } else {
        EXPECT_EQ(bytes[i], 0u) << "layer " << i;
      }
    }
  }
}

// Dense weights stored as fp16 (`repvk convert --dense fp16`) arrive widened to fp32:
// the engine runs them unchanged and matches the reference on the same rounded weights.
TEST_F(GpuTest, DenseFp16StorageMatchesCpuReference) {
  std::mt19937_64 rng(test_seed());
  SyntheticConfig cfg = synthetic_preset("small");
  cfg.quantized = false;
  cfg.seed = rng();
  const Model original = make_synthetic_model(cfg);
  Model stored = original;
  for (Layer& l : stored.layers) l.weights.dense_storage = ValueStorage::Fp16;
  const std::vector<uint8_t> bytes = serialize_model(stored);
  const Model model = parse_model(bytes.data(), bytes.size(), "fp16.rpvk");
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const Layer& l = model.layers[i];
    if (!l.has_weights()) continue;
    ASSERT_EQ(l.weights.dense_storage, ValueStorage::Fp16);
    for (size_t k = 0; k < l.weights.dense.size(); ++k)
      ASSERT_EQ(l.weights.dense[k],
                half_to_float(float_to_half(original.layers[i].weights.dense[k])));
  }

  const uint32_t batch = 5;
  std::vector<float> input(size_t(model.input.channels) * model.input.height *
                           model.input.width * batch);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  for (float& v : input) v = u(rng);
  const auto ref = cpu::forward(model, input.data(), batch, true);
  for (Precision precision : {Precision::Fp32, Precision::Fp16}) {
    if (precision == Precision::Fp16 && !device().enabled().storage_16bit) {
      test::skip_case(device().info().name + " has no storageBuffer16BitAccess: fp16 untested");
      continue;
    }
    SCOPED_TRACE(precision == Precision::Fp32 ? "fp32 activations" : "fp16 activations");
    NetworkOptions opts;
    opts.precision = precision;
    opts.max_batch = 2;
    opts.pipeline_cache_path = "none";
    Network net(device(), model, opts);
    std::vector<float> x = input;
    if (precision == Precision::Fp16)
      for (float& v : x) v = half_to_float(float_to_half(v));
    const auto want = precision == Precision::Fp32 ? ref
                                                   : cpu::forward(model, x.data(), batch, true);
    EXPECT_LE(max_rel_error(net.infer_logits(x, batch), want),
              precision == Precision::Fp32 ? 1e-4 : 1e-2);
  }
  // Rounding the weights moves the logits only slightly.
  EXPECT_LE(max_rel_error(ref, cpu::forward(original, input.data(), batch, true)), 1e-2);
}

TEST_F(GpuTest, TimingsCoverEveryLayer) {
  if (!device().enabled().timestamps)
    GTEST_SKIP() << device().info().name << " has no compute timestamps";
  const Model model = make_synthetic_model(synthetic_preset("small"));
  NetworkOptions opts;
  opts.pipeline_cache_path = "none";
  Network net(device(), model, opts);
  std::vector<float> input(net.input_size() * 3, 0.25f);
  net.infer(input, 3);
  const auto timings = net.last_timings();
  ASSERT_EQ(timings.size(), model.layers.size());
  double sum = 0;
  for (const auto& t : timings) {
    EXPECT_GE(t.gpu_ms, 0.0);
    EXPECT_FALSE(t.name.empty());
    sum += t.gpu_ms;
  }
  EXPECT_GT(net.last_gpu_ms(), 0.0);
  EXPECT_LE(sum, net.last_gpu_ms() * 1.0001 + 1e-6);
}

TEST_F(GpuTest, ClassifyImageUsesPreprocessing) {
  const Model model = make_synthetic_model(synthetic_preset("small"));
  NetworkOptions opts;
  opts.pipeline_cache_path = "none";
  Network net(device(), model, opts);
  Image img;
  img.width = img.height = 28;
  img.channels = 1;
  img.pixels.resize(28 * 28);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(i * 37);
  const auto probs = net.classify(img);
  const auto x = preprocess(img, model.input);
  const auto ref = cpu::forward(model, x.data(), 1);
  EXPECT_LE(max_rel_error(probs, ref), 1e-4);
}

TEST_F(GpuTest, Fp16RequestWithoutSupportIsAClearError) {
  DeviceOptions o;
  o.force_fp32 = true;
  o.validation = true;
  o.on_debug_message = [this](const DebugMessage& m) { messages_.push_back(m.text); };
  auto fp32_only = Device::create(o);
  NetworkOptions opts;
  opts.precision = Precision::Fp16;
  opts.pipeline_cache_path = "none";
  try {
    Network net(*fp32_only, make_synthetic_model(synthetic_preset("small")), opts);
    FAIL() << "expected repvk::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fp16"), std::string::npos) << e.what();
  }
}

// Caller mistakes are InvalidArgument (REPVK_ERROR_INVALID_ARGUMENT through the C API),
// found before any work; a device that cannot do something stays a plain Error.
TEST_F(GpuTest, CallerMistakesAreInvalidArgument) {
  const Model m = make_synthetic_model(synthetic_preset("small"));
  NetworkOptions zero;
  zero.max_batch = 0;
  zero.pipeline_cache_path = "none";
  EXPECT_THROW({ Network net(device(), m, zero); }, InvalidArgument);
  NetworkOptions opts;
  opts.pipeline_cache_path = "none";
  Network net(device(), m, opts);
  ImageInput in;
  EXPECT_THROW(net.record_classify_image(VK_NULL_HANDLE, in), InvalidArgument);
  EXPECT_THROW(net.infer(nullptr, 0, 0), InvalidArgument);
}

}  // namespace
}  // namespace repvk
