// SPDX-License-Identifier: MIT
// Whole networks under every kernel path a device takes, against the CPU reference:
// texel (what CPU devices run), and igemm with the GPU fc kernel (what GPUs run:
// Auto picks igemm there) unsplit and split-K, with fp16 storage and with fp16
// arithmetic; tiled and direct too. Each path runs random networks and the shipped
// default model, and texel and the igemm paths A0's layers (synthetic, 64x64 input:
// every A0 conv and the 1280->1000 fc at a 12th of the arithmetic of 224x224). Each test first checks that
// the Network really took the path: kernel and precision of every layer's shader,
// fp16 math, the fc kernel, and split-K (LayerPipelines::split_k) where it is planned.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "gpu_fixture.h"
#include "network_test_util.h"
#include "repvk/cpu_reference.h"
#include "repvk/network.h"
#include "repvk/synthetic.h"
#include "repvk_internal/network_tuning.h"
#include "test_ops_util.h"

namespace repvk {
namespace {

struct KernelPath {
  const char* name;
  ConvAlgorithm conv;
  Precision precision;
  bool fp16_math;
  // true: the split-K chooser plans as for a 132-CU GPU, so that A0's late layers split
  // K; false: never split (NetworkOptions::igemm_split_k = 1).
  bool split_k;
  const char* fc;  // the fc shader that must run (prefix)
  // Random networks to run, and whether A0 runs too. Each new layer shape is a pipeline
  // lavapipe compiles (most of a second for igemm), so the random networks are spread
  // thin outside texel, and A0 runs once per distinct igemm path: fp32 split-K, fp16
  // storage, fp16 arithmetic (the default model runs on every path).
  int random_networks;
  bool a0;
};

constexpr const char* kGemv = "fully_connected_gemv";
constexpr const char* kFcTexel = "fully_connected_texel";
constexpr const char* kFcStorage = "fully_connected_f32";

const KernelPath kPaths[] = {
    {"texel_f32", ConvAlgorithm::Texel, Precision::Fp32, false, false, kFcTexel, 4, true},
    {"texel_f16", ConvAlgorithm::Texel, Precision::Fp16, false, false, kFcTexel, 4, false},
    {"igemm_f32", ConvAlgorithm::Igemm, Precision::Fp32, false, false, kGemv, 2, false},
    {"igemm_f32_splitk", ConvAlgorithm::Igemm, Precision::Fp32, false, true, kGemv, 2, true},
    {"igemm_f16", ConvAlgorithm::Igemm, Precision::Fp16, false, false, kGemv, 1, true},
    {"igemm_f16_splitk", ConvAlgorithm::Igemm, Precision::Fp16, false, true, kGemv, 1, false},
    {"igemm_f16_fp16math", ConvAlgorithm::Igemm, Precision::Fp16, true, false, kGemv, 1, true},
    {"igemm_f32_fp16math_splitk", ConvAlgorithm::Igemm, Precision::Fp32, true, true, kGemv, 1, false},
    {"tiled_f32", ConvAlgorithm::Tiled, Precision::Fp32, false, false, kFcStorage, 1, false},
    {"direct_f16", ConvAlgorithm::Direct, Precision::Fp16, false, false, kFcStorage, 1, false},
};

void PrintTo(const KernelPath& p, std::ostream* os) { *os << p.name; }

// Largest error relative to the largest output (test::max_rel_error). fp32: the fp32
// sums of each layer against double. fp16 storage rounds every conv output to 2^-11 and
// fp16 arithmetic every K stage to about 11 x 2^-11 (test_ops_conv3x3_igemm_fp16math.cpp);
// through a whole network those compound, measured on lavapipe below a third of these.
double tolerance(const KernelPath& p) {
  if (p.fp16_math) return 3e-2;
  return p.precision == Precision::Fp16 ? 1e-2 : 1e-4;
}

std::string skip_reason(Device& device, const KernelPath& p) {
  if (p.precision == Precision::Fp16 && !device.enabled().storage_16bit)
    return device.info().name + " has no storageBuffer16BitAccess: fp16 path untested";
  if (p.fp16_math && !device.enabled().float16)
    return device.info().name + " has no shaderFloat16 enabled: fp16 math untested";
  return {};
}

NetworkOptions options_for(const KernelPath& p, uint32_t max_batch) {
  NetworkOptions o;
  tuning(o).conv_algorithm = p.conv;
  o.precision = p.precision;
  o.fp16_math = p.fp16_math ? Fp16Math::On : Fp16Math::Off;
  if (p.split_k) tuning(o).compute_units = 132;
  else tuning(o).igemm_split_k = 1;
  o.max_batch = max_batch;
  o.pipeline_cache_path = "none";
  return o;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// The Network took the path: every conv layer runs its kernel's shader at the path's
// precision (texel may fall back to tiled where a layer exceeds its texel limits), with
// fp16 arithmetic exactly when asked; the fc runs the path's kernel. Returns the number of
// layers that split K.
uint32_t expect_path(const Network& net, const KernelPath& p, VkPhysicalDeviceType type) {
  // tiled and direct leave the fc kernel to FcKernel::Auto: the storage kernel on CPU
  // devices, gemv (rows without subgroup arithmetic) on GPUs.
  const bool auto_fc_on_gpu = p.fc == kFcStorage && type != VK_PHYSICAL_DEVICE_TYPE_CPU;
  EXPECT_EQ(conv_algorithm(net), p.conv);
  EXPECT_EQ(net.precision(), p.precision);
  EXPECT_EQ(net.fp16_math(), p.fp16_math);
  const std::string kernel = std::string("conv3x3_") + conv_algorithm_name(p.conv);
  const std::string suffix = p.precision == Precision::Fp16 ? "_f16" : "_f32";
  uint32_t split = 0, convs = 0, fcs = 0;
  for (const LayerPipelines& l : net.pipelines()) {
    if (l.pipelines.empty()) {
      ADD_FAILURE() << l.layer << ": no pipeline";
      continue;
    }
    const std::string& shader = l.pipelines[0].shader;
    if (starts_with(shader, "conv3x3")) {
      ++convs;
      const std::string want = p.conv == ConvAlgorithm::Direct ? std::string("conv3x3_f") : kernel;
      EXPECT_TRUE(starts_with(shader, want) ||
                  (p.conv == ConvAlgorithm::Texel && starts_with(shader, "conv3x3_tiled")))
          << l.layer << " runs " << shader;
      EXPECT_EQ(shader.substr(shader.size() - 4), suffix) << l.layer << " runs " << shader;
      EXPECT_EQ(shader.find("fp16math") != std::string::npos, p.fp16_math)
          << l.layer << ": " << shader;
      if (l.split_k > 1) ++split;
      if (p.conv != ConvAlgorithm::Igemm) {
        EXPECT_EQ(l.split_k, 1u) << l.layer;
      }
    } else if (starts_with(shader, "fully_connected")) {
      ++fcs;
      const bool gpu_fc = starts_with(shader, kGemv) || starts_with(shader, "fully_connected_rows");
      EXPECT_TRUE(starts_with(shader, p.fc) || (auto_fc_on_gpu && gpu_fc))
          << l.layer << " runs " << shader << ", not " << p.fc;
    }
  }
  EXPECT_GT(convs, 0u);
  EXPECT_GT(fcs, 0u);
  if (!p.split_k) {
    EXPECT_EQ(split, 0u) << "split-K where igemm_split_k = 1";
  }
  return split;
}

// Logits and probabilities of `batch` fresh inputs against the CPU reference.
void expect_matches_reference(Network& net, const Model& model, const KernelPath& p,
                              std::mt19937_64& rng, uint32_t batch) {
  const std::vector<float> input = test::random_network_input(
      rng, size_t(net.input_size()) * batch, p.precision == Precision::Fp16);
  const std::vector<float> logits = net.infer_logits(input, batch);
  const std::vector<float> ref_logits = cpu::forward(model, input.data(), batch, true);
  ASSERT_EQ(logits.size(), ref_logits.size());
  const double err = test::max_rel_error(logits, ref_logits);
  EXPECT_LE(err, tolerance(p)) << "logits";
  std::printf("%s: %s, batch %u: logits max rel err %.3g (tolerance %.0e)\n", p.name,
              model.name.c_str(), batch, err, tolerance(p));
  const std::vector<float> probs = net.infer(input, batch);
  const std::vector<float> ref_probs = cpu::forward(model, input.data(), batch);
  ASSERT_EQ(probs.size(), ref_probs.size());
  EXPECT_LE(test::max_rel_error(probs, ref_probs), tolerance(p)) << "probabilities";
  for (uint32_t b = 0; b < batch; ++b) {
    double sum = 0;
    for (uint32_t k = 0; k < net.num_classes(); ++k) sum += probs[b * net.num_classes() + k];
    EXPECT_NEAR(sum, 1.0, 1e-4) << "image " << b;
  }
}

class NetworkPathTest : public test::GpuTest, public ::testing::WithParamInterface<KernelPath> {
 protected:
  void SetUp() override {
    test::GpuTest::SetUp();
    if (const std::string why = skip_reason(device(), GetParam()); !why.empty())
      GTEST_SKIP() << why;
  }
  std::mt19937_64 rng{test::test_seed() * 6007u + std::hash<std::string>{}(GetParam().name)};
};

// Random shapes, widths, bit widths and granularities; max_batch below the batch, so
// that calls span several submissions.
TEST_P(NetworkPathTest, RandomNetworksMatchCpuReference) {
  const KernelPath& p = GetParam();
  for (int trial = 0; trial < p.random_networks; ++trial) {
    const SyntheticConfig cfg = test::random_network_config(rng);
    SCOPED_TRACE(test::seed_note() + ", trial " + std::to_string(trial) + ": " +
                 test::describe_network(cfg));
    const Model model = make_synthetic_model(cfg);
    Network net(device(), model, options_for(p, 1 + uint32_t(rng() % 4)));
    expect_path(net, p, device().info().type);
    expect_matches_reference(net, model, p, rng, 1 + uint32_t(rng() % 7));
  }
}

// The model the README's main command evaluates (assets/models/default.rpvk).
TEST_P(NetworkPathTest, ShippedDefaultModelMatchesCpuReference) {
  const KernelPath& p = GetParam();
  SCOPED_TRACE(test::seed_note());
  const Model model = read_model(REPVK_MODELS_DIR "/default.rpvk");
  Network net(device(), model, options_for(p, 4));
  expect_path(net, p, device().info().type);
  expect_matches_reference(net, model, p, rng, 4);
}

// RepVGG-A0's layers (48..1280 channels, 22 convs, the 1280->1000 fc) at batch 1, on the
// paths whose `a0` is set (A0Paths below: instantiated only for those, so that nothing
// is skipped). On the split-K paths the chooser must split some of them.
class A0PathTest : public NetworkPathTest {};

TEST_P(A0PathTest, A0MatchesCpuReference) {
  const KernelPath& p = GetParam();
  SCOPED_TRACE(test::seed_note());
  SyntheticConfig cfg = synthetic_preset("A0");
  cfg.height = cfg.width = 64;
  cfg.seed = rng();
  const Model model = make_synthetic_model(cfg);
  Network net(device(), model, options_for(p, 1));
  const uint32_t split = expect_path(net, p, device().info().type);
  if (p.split_k) {
    EXPECT_GE(split, 1u) << "no A0 layer split K as for 132 CUs";
  }
  expect_matches_reference(net, model, p, rng, 1);
}

std::string path_name(const ::testing::TestParamInfo<KernelPath>& info) { return info.param.name; }

std::vector<KernelPath> a0_paths() {
  std::vector<KernelPath> paths;
  for (const KernelPath& p : kPaths)
    if (p.a0) paths.push_back(p);
  return paths;
}

INSTANTIATE_TEST_SUITE_P(Paths, NetworkPathTest, ::testing::ValuesIn(kPaths), path_name);
INSTANTIATE_TEST_SUITE_P(Paths, A0PathTest, ::testing::ValuesIn(a0_paths()), path_name);

}  // namespace
}  // namespace repvk
