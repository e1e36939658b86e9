// SPDX-License-Identifier: MIT
// `repvk-train import` against an independent implementation: checkpoints, inputs and
// logits written by make_repvgg_checkpoints.py (a RepVGG written in PyTorch from the
// paper, random weights and BN statistics, eval mode), imported here and run by the
// engine on the Vulkan device with the validation layer on.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "gpu_fixture.h"
#include "import/import_command.h"
#include "import/onnx_reader.h"
#include "repvk/cpu_reference.h"
#include "repvk/network.h"

namespace repvk::train {
namespace {

const std::string kDir = REPVK_IMPORT_FIXTURES;

bool is_onnx(const std::string& file) { return file.size() > 5 && file.substr(file.size() - 5) == ".onnx"; }

// Why an ONNX fixture cannot be used here, or "".
std::string onnx_skip_reason(const std::string& file) {
  if (!is_onnx(file)) return "";
  if (!onnx_import_available()) return "repvk-train built without libonnx-dev";
  if (!std::filesystem::exists(kDir + "/small-train.onnx"))
    return "no ONNX fixtures in " + kDir + " (make_repvgg_checkpoints.py writes them with python3-onnx)";
  return "";
}

std::vector<float> read_f32(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> b((std::istreambuf_iterator<char>(f)), {});
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

struct Reference {
  nlohmann::json meta;
  std::vector<float> input, logits;
};

Reference reference(const std::string& name) {
  Reference r;
  std::ifstream f(kDir + "/" + name + ".json");
  r.meta = nlohmann::json::parse(f);
  r.input = read_f32(kDir + "/" + name + "-input.f32");
  r.logits = read_f32(kDir + "/" + name + "-logits.f32");
  return r;
}

// Largest difference relative to the largest reference logit.
double rel_error(const std::vector<float>& got, const std::vector<float>& want) {
  EXPECT_EQ(got.size(), want.size());
  double scale = 0, worst = 0;
  for (float v : want) scale = std::max(scale, double(std::fabs(v)));
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    worst = std::max(worst, std::fabs(double(got[i]) - want[i]));
  }
  return worst / scale;
}

// Relative Frobenius error of each weighted layer of `q` against the fp32 model `ref`.
std::vector<double> weight_errors(const repvk::Model& q, const repvk::Model& ref) {
  std::vector<double> e;
  for (size_t i = 0; i < ref.layers.size(); ++i) {
    if (!ref.layers[i].has_weights()) continue;
    const auto a = repvk::decode_weights(q.layers[i]), b = repvk::decode_weights(ref.layers[i]);
    double num = 0, den = 0;
    for (size_t k = 0; k < b.size(); ++k) {
      num += (double(a[k]) - b[k]) * (double(a[k]) - b[k]);
      den += double(b[k]) * b[k];
    }
    e.push_back(std::sqrt(num / den));
  }
  return e;
}

// The largest relative Frobenius weight error (what weight_errors() measures) that the
// format of `q` allows for the fp32 weights `w`:
// - fp16 values (dense storage, or codebook entries): rounding to nearest moves a
//   normal value by at most u = 2^-11 of itself, a subnormal one by at most 2^-25.
// - b-bit codebooks: k-means seeks the least squared error over all codebooks of 2^b
//   entries per group (output channel or layer). The uniform grid of 2^b levels from
//   the group's min to max is one such codebook, and it puts every weight within half
//   a step (range / (2^b - 1) / 2) of a level; a quantizer that does worse than that
//   trivial codebook is broken, however the model's logits come out. A group of at most
//   2^b weights fits its codebook exactly: no error at all.
double format_error_bound(const repvk::Layer& q, const std::vector<float>& w) {
  const double u = std::ldexp(1.0, -11), tiny = std::ldexp(1.0, -25);
  double norm2 = 0;
  for (float v : w) norm2 += double(v) * v;
  const double norm = std::sqrt(norm2);
  const size_t n = w.size();
  if (q.weights.encoding == repvk::WeightEncoding::Fp32)
    return q.weights.dense_storage == repvk::ValueStorage::Fp16 ? u + tiny * std::sqrt(double(n)) / norm
                                                                 : 0.0;
  const size_t groups = q.weights.granularity == repvk::CodebookGranularity::PerOutputChannel
                            ? q.out_channels : 1;
  const size_t per_group = n / groups;
  const double levels = std::ldexp(1.0, int(q.weights.bits)) - 1;
  double grid2 = 0;
  for (size_t g = 0; g < groups && double(per_group) > levels + 1; ++g) {
    const auto [lo, hi] = std::minmax_element(w.begin() + ptrdiff_t(g * per_group),
                                              w.begin() + ptrdiff_t((g + 1) * per_group));
    const double half_step = (double(*hi) - *lo) / levels / 2;
    grid2 += double(per_group) * half_step * half_step;
  }
  double bound = std::sqrt(grid2) / norm;
  // fp16 codebook entries: the rounded codebook is within u of the k-means one.
  if (q.weights.codebook_storage == repvk::ValueStorage::Fp16)
    bound += u * (1 + bound) + tiny * std::sqrt(double(n)) / norm;
  return bound;
}

class ImportTest : public test::GpuTest {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kDir + "/small-train.pth"))
      GTEST_SKIP() << "no checkpoints in " << kDir
                   << " (make_repvgg_checkpoints.py needs python3-torch; see tests/import/CMakeLists.txt)";
    GpuTest::SetUp();
  }

  repvk::Model import(const std::string& file, const std::string& arch, ImportCommand c = {}) {
    if (is_onnx(file)) {
      c.onnx_path = kDir + "/" + file;
    } else {
      c.pytorch_path = kDir + "/" + file;
    }
    c.arch = arch;
    std::ostringstream log;
    repvk::Model m = build_imported_model(c, log);
    std::cout << log.str();
    return m;
  }

  std::vector<float> run(const repvk::Model& m, const Reference& r) {
    NetworkOptions o;
    o.precision = Precision::Fp32;
    o.pipeline_cache_path = "none";
    Network net(device(), m, o);
    EXPECT_EQ(net.input_size() * r.meta["batch"].get<size_t>(), r.input.size());
    return net.infer_logits(r.input, r.meta["batch"].get<uint32_t>());
  }

  void expect_parity(const std::string& file, const std::string& ref_name, const std::string& arch) {
    if (const std::string why = onnx_skip_reason(file); !why.empty()) GTEST_SKIP() << why;
    const Reference r = reference(ref_name);
    const repvk::Model m = import(file, arch);
    const double err = rel_error(run(m, r), r.logits);
    std::cout << file << ": engine vs PyTorch, largest difference " << err << " of the largest logit\n";
    EXPECT_LE(err, 1e-4) << file;
  }

  // Quantized and fp16 imports, two checks that do not depend on how good the
  // quantizer is: the engine must compute the quantized model exactly as the CPU
  // reference does (1e-4 of the largest logit, like the fp32 imports against PyTorch),
  // and each layer's weight error must stay within what its format allows
  // (format_error_bound below), whatever the quantizer did.
  void check_quantized(const std::string& file, const std::string& ref_name, const std::string& arch,
                       const ImportCommand& c) {
    if (const std::string why = onnx_skip_reason(file); !why.empty()) GTEST_SKIP() << why;
    const Reference r = reference(ref_name);
    const repvk::Model fp32 = import(file, arch);
    const repvk::Model q = import(file, arch, c);
    const uint32_t batch = r.meta["batch"].get<uint32_t>();
    const std::vector<float> cpu = repvk::cpu::forward(q, r.input.data(), batch, true);
    const double err = rel_error(run(q, r), cpu);
    std::cout << file << " bits " << c.bits << " storage " << c.storage
              << ": engine vs CPU reference of the same model " << err << " of the largest logit\n";
    EXPECT_LE(err, 1e-4) << file;
    const std::vector<double> errors = weight_errors(q, fp32);
    EXPECT_GT(*std::max_element(errors.begin(), errors.end()), 0) << "nothing was quantized";
    size_t l = 0;
    for (size_t i = 0; i < q.layers.size(); ++i) {
      if (!q.layers[i].has_weights()) continue;
      const double bound = format_error_bound(q.layers[i], decode_weights(fp32.layers[i]));
      std::cout << "  layer " << i << ": relative weight error " << errors[l] << ", format bound "
                << bound << "\n";
      EXPECT_LE(errors[l], bound) << "layer " << i;
      ++l;
    }
  }
};

TEST_F(ImportTest, SmallTrainingFormMatchesPyTorch) { expect_parity("small-train.pth", "small", "small"); }
TEST_F(ImportTest, SmallDeployFormMatchesPyTorch) { expect_parity("small-deploy.pth", "small", "small"); }
TEST_F(ImportTest, WrappedStateDictWithModulePrefix) {
  expect_parity("small-wrapped-state_dict.pth", "small", "small");
}
TEST_F(ImportTest, WrappedUnderModel) { expect_parity("small-wrapped-model.pth", "small", "small"); }
TEST_F(ImportTest, A0TrainingFormMatchesPyTorch) { expect_parity("A0-train.pth", "A0", "A0"); }
TEST_F(ImportTest, A0DeployFormMatchesPyTorch) { expect_parity("A0-deploy.pth", "A0", ""); }

TEST_F(ImportTest, A0ShapeAndCost) {
  const repvk::Model m = import("A0-deploy.pth", "A0");
  EXPECT_EQ(m.input.channels, 3u);
  EXPECT_EQ(m.input.height, 224u);
  EXPECT_EQ(m.class_names.size(), 1000u);
  EXPECT_NEAR(m.input.mean[0], 0.485f, 1e-6);
  EXPECT_NEAR(m.input.std[2], 0.225f, 1e-6);
  uint64_t macs = 0;
  for (const auto& s : repvk::model_stats(m)) macs += s.flops / 2;
  // RepVGG paper, Table 2: A0 has 1.4 G multiply-adds at 224x224 (counted here exactly).
  EXPECT_GT(macs, 1.3e9);
  EXPECT_LT(macs, 1.5e9);
}

TEST_F(ImportTest, EightBitKMeansPerChannel) {
  ImportCommand c;
  c.bits = 8;
  c.granularity = Granularity::Channel;
  check_quantized("small-train.pth", "small", "small", c);
}
TEST_F(ImportTest, EightBitKMeansPerLayerFp16Codebooks) {
  ImportCommand c;
  c.bits = 8;
  c.granularity = Granularity::Layer;
  c.storage = "fp16";
  check_quantized("small-deploy.pth", "small", "small", c);
}
TEST_F(ImportTest, Fp16StorageA0) {
  ImportCommand c;
  c.storage = "fp16";
  check_quantized("A0-deploy.pth", "A0", "A0", c);
}

// ONNX graphs torch.onnx.export wrote of the same networks (opset 14).
TEST_F(ImportTest, OnnxSmallTrainingFormBnFoldedByExporter) { expect_parity("small-train.onnx", "small", "small"); }
TEST_F(ImportTest, OnnxSmallTrainingFormWithBatchNormNodes) { expect_parity("small-train-bn.onnx", "small", "small"); }
TEST_F(ImportTest, OnnxConvBiasFollowedByBatchNorm) {
  expect_parity("small-train-conv-bias.onnx", "small", "small");
}
TEST_F(ImportTest, OnnxSmallDeployForm) { expect_parity("small-deploy.onnx", "small", ""); }
TEST_F(ImportTest, OnnxGlobalPoolFlattenMatMulAddSoftmax) { expect_parity("small-head.onnx", "small", "small"); }
TEST_F(ImportTest, OnnxReduceMeanReshapeConstantNodes) {
  expect_parity("small-reshape-constants.onnx", "small", "small");
}
TEST_F(ImportTest, OnnxA0TrainingForm) { expect_parity("A0-train.onnx", "A0", "A0"); }
TEST_F(ImportTest, OnnxA0DeployForm) { expect_parity("A0-deploy.onnx", "A0", ""); }
TEST_F(ImportTest, OnnxEightBitKMeansPerChannel) {
  ImportCommand c;
  c.bits = 8;
  c.granularity = Granularity::Channel;
  check_quantized("small-train-bn.onnx", "small", "small", c);
}
TEST_F(ImportTest, OnnxInputSizeAndArchFromGraph) {
  if (const std::string why = onnx_skip_reason("A0-deploy.onnx"); !why.empty()) GTEST_SKIP() << why;
  const repvk::Model m = import("A0-deploy.onnx", "");
  EXPECT_EQ(m.input.channels, 3u);
  EXPECT_EQ(m.input.height, 224u);
  EXPECT_EQ(m.input.width, 224u);
  EXPECT_EQ(m.name, "repvgg-A0-imported");  // depths and widths matched A0
  const repvk::Model s = import("small-deploy.onnx", "");
  EXPECT_EQ(s.input.height, 28u);
  // The small preset's strides 1,2,2,2,1 come from the graph, not from a default.
  uint32_t stride2 = 0;
  for (const auto& l : s.layers) stride2 += l.type == repvk::LayerType::Conv3x3 && l.stride == 2;
  EXPECT_EQ(stride2, 3u);
}

// Every class of bad input fails with a message naming what is at fault.
struct BadCase {
  const char* file;
  const char* arch;
  const char* strides;
  const char* message;
};

void PrintTo(const BadCase& b, std::ostream* os) { *os << b.file << " " << b.arch << " " << b.strides; }

class ImportErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ImportErrors, NamesTheProblem) {
  if (!std::filesystem::exists(kDir + "/small-train.pth")) GTEST_SKIP() << "no checkpoints in " << kDir;
  const BadCase& b = GetParam();
  if (const std::string why = onnx_skip_reason(b.file); !why.empty()) GTEST_SKIP() << why;
  ImportCommand c;
  (is_onnx(b.file) ? c.onnx_path : c.pytorch_path) = kDir + "/" + b.file;
  c.arch = b.arch;
  c.strides = b.strides;
  std::ostringstream log;
  try {
    build_imported_model(c, log);
    FAIL() << b.file << " was accepted";
  } catch (const TrainError& e) {
    EXPECT_NE(std::string(e.what()).find(b.message), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(b.file), std::string::npos) << "names the file: " << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Checkpoints, ImportErrors,
    ::testing::Values(
        BadCase{"bad-missing.pth", "", "", "missing tensor 'stage2.1.rbr_1x1.bn.running_var'"},
        BadCase{"bad-unexpected.pth", "", "", "unexpected tensor 'stage3.0.se.down.weight': squeeze-excitation"},
        BadCase{"bad-inner-module.pth", "", "", "unexpected tensor 'stage1.module.extra'"},
        BadCase{"bad-shape.pth", "", "", "tensor 'stage2.0.rbr_dense.conv.weight' has shape [64, 32, 3, 1]"},
        BadCase{"bad-mixed-forms.pth", "", "", "mixes training-form tensors"},
        BadCase{"bad-not-repvgg.pth", "", "", "not a RepVGG state dict: no stageN.* tensors (first tensors: conv1.weight"},
        BadCase{"bad-grouped.pth", "", "", "tensor 'stage1.1.rbr_dense.conv.weight' has shape [32, 16, 3, 3]: a grouped convolution (groups = 2"},
        BadCase{"bad-pickled-module.pth", "", "", "refuses global '__main__.RepVGG'"},
        BadCase{"bad-legacy.pth", "", "", "legacy PyTorch format"},
        BadCase{"bad-truncated.pth", "", "", "cannot read the archive"},
        BadCase{"small-train.pth", "A0", "", "but --arch A0 has depths 1,2,4,14,1"},
        BadCase{"A0-train.pth", "", "1,1,2,2,2", "block stage1.0 has no identity branch although in == out"},
        BadCase{"small-train.pth", "", "1,2,2,2,2,2", "5 stages but 6 strides"},
        BadCase{"no-such-file.pth", "", "", "no such file"},
        BadCase{"bad-onnx-unsupported-op.onnx", "", "", "node '/stage2.0/Relu' (Elu) is not supported here"},
        BadCase{"bad-onnx-missing-initializer.onnx", "", "",
                "missing initializer 'stage2.1.rbr_dense.conv.weight' (the weight of node '/stage2.1/rbr_dense/conv/Conv'"},
        BadCase{"bad-onnx-shape.onnx", "", "",
                "the weight 'stage3.0.rbr_dense.conv.weight' of node '/stage3.0/rbr_dense/conv/Conv' (Conv) has shape "
                "[128, 48, 3, 3] but its input has 64 channels"},
        BadCase{"bad-onnx-fc-shape.onnx", "", "", "gives a classifier of shape [10, 200] ([classes, features]), but the last block has 256"},
        BadCase{"bad-onnx-truncated.onnx", "", "", "protobuf parsing failed: the file is truncated"},
        BadCase{"bad-onnx-garbled.onnx", "", "", "not an ONNX model"},
        BadCase{"bad-onnx-grouped.onnx", "", "", "is a grouped convolution (group = 2"},
        BadCase{"bad-onnx-5x5.onnx", "", "", "has a 5x5 kernel"},
        BadCase{"bad-onnx-branches.onnx", "", "", "has two 3x3 Conv branches"},
        BadCase{"bad-onnx-skip.onnx", "", "", "not the RepVGG three-branch pattern (all branches read the block input)"},
        BadCase{"small-train.onnx", "A0", "", "but --arch A0 has depths 1,2,4,14,1"},
        BadCase{"small-train.onnx", "", "1,2,2,2,1", "--strides is for --pytorch checkpoints"},
        BadCase{"no-such-file.onnx", "", "", "cannot open"}),
    [](const ::testing::TestParamInfo<BadCase>& info) {
      std::string n = std::to_string(info.index) + "_" + info.param.file;
      for (char& ch : n)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return n;
    });

TEST(ImportLabels, CountMustMatch) {
  if (!std::filesystem::exists(kDir + "/small-train.pth")) GTEST_SKIP() << "no checkpoints in " << kDir;
  const std::string labels = kDir + "/three-labels.txt";
  std::ofstream(labels) << "a\nb\nc\n";
  ImportCommand c;
  c.pytorch_path = kDir + "/small-train.pth";
  c.arch = "small";
  c.labels = labels;
  std::ostringstream log;
  try {
    build_imported_model(c, log);
    FAIL() << "accepted 3 labels for 10 classes";
  } catch (const TrainError& e) {
    EXPECT_NE(std::string(e.what()).find("has 3 lines but the checkpoint has 10 classes"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace repvk::train
