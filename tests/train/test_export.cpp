// SPDX-License-Identifier: MIT
// Export then load with the engine's CPU reference: logits agree with the trainer's
// and argmax agrees on >= 99.9% of a test set.
#include <repvk/cpu_reference.h>

#include <filesystem>

#include "export.h"
#include "quant/cluster.h"
#include "util.h"

namespace repvk::train {
namespace {

using namespace testing;

void check_agreement(DeployNet& net, const std::vector<LayerEncoding>& enc, const std::string& file) {
  const ExportSpec spec{"tiny", 3, 8, 8, {{0.1f, 0.2f, 0.3f}, {0.5f, 0.6f, 0.7f}},
                        {"a", "b", "c", "d", "e"}};
  const std::string path = (std::filesystem::temp_directory_path() / file).string();
  export_model(*net, spec, enc, path);
  const repvk::Model m = repvk::read_model(path);
  std::filesystem::remove(path);
  EXPECT_EQ(m.class_names, spec.class_names);
  EXPECT_EQ(m.input.mean, spec.norm.mean);
  EXPECT_EQ(m.input.std, spec.norm.std);
  EXPECT_EQ(m.input.channels, 3u);

  constexpr int64_t kImages = 2000;
  torch::manual_seed(31);
  torch::Tensor x = torch::randn({kImages, 3, 8, 8});
  torch::Tensor ours;
  {
    torch::NoGradGuard ng;
    ours = net->forward(x);
  }
  const std::vector<float> ref = repvk::cpu::forward(m, x.data_ptr<float>(), uint32_t(kImages), true);
  ASSERT_EQ(ref.size(), size_t(kImages * 5));
  torch::Tensor theirs = torch::from_blob(const_cast<float*>(ref.data()), {kImages, 5}).clone();
  EXPECT_LT(max_rel_diff(ours, theirs), 1e-4);
  const double agree = ours.argmax(1).eq(theirs.argmax(1)).to(torch::kFloat64).mean().item<double>();
  EXPECT_GE(agree, 0.999);

  // Read back into libtorch (what `repvk-train infer-bench` runs): the same logits.
  DeployNet back = deploy_from_model(m, path);
  torch::Tensor again;
  {
    torch::NoGradGuard ng;
    again = back->forward(x);
  }
  EXPECT_LT(max_rel_diff(ours, again), 1e-5);
}

TEST(Export, Fp32MatchesCpuReference) {
  torch::manual_seed(30);
  RepVGG model(tiny_config(NormKind::Oabn));
  randomize_norms(*model, 31);
  model->eval();
  DeployNet net = model->merge();
  check_agreement(net, std::vector<LayerEncoding>(net->num_layers()), "repvk_train_fp32.rpvk");
}

TEST(Export, ClusterQuantizedMatchesCpuReference) {
  torch::manual_seed(32);
  RepVGG model(tiny_config(NormKind::Bn));
  randomize_norms(*model, 33);
  model->eval();
  DeployNet net = model->merge();
  for (Granularity g : {Granularity::Layer, Granularity::Channel}) {
    ClusterOptions opt;
    opt.granularity = g;
    std::vector<int> bits(net->num_layers(), 3);
    bits.front() = bits.back() = 8;  // first and last kept at 8 bits
    ClusterQAT cq(*net, bits, opt);
    net->hook = [&](size_t l, const torch::Tensor& w) { return cq.forward_weight(l, w); };
    std::vector<LayerEncoding> enc;
    for (int b : bits) enc.push_back({b, g});
    check_agreement(net, enc, "repvk_train_cluster.rpvk");
  }
}

TEST(Export, ReaderRefusesWhatItCannotRun) {
  torch::manual_seed(35);
  RepVGG model(tiny_config(NormKind::Bn));
  model->eval();
  DeployNet net = model->merge();
  const ExportSpec spec{"x", 3, 8, 8, {{0, 0, 0}, {1, 1, 1}}, {"a", "b", "c", "d", "e"}};
  repvk::Model m = build_model(*net, spec, std::vector<LayerEncoding>(net->num_layers()));
  m.layers[1].relu = false;
  try {
    deploy_from_model(m, "odd.rpvk");
    FAIL() << "a conv without ReLU was accepted";
  } catch (const TrainError& e) {
    EXPECT_NE(std::string(e.what()).find("odd.rpvk: layer 1"), std::string::npos) << e.what();
  }
}

TEST(Export, UnquantizedWeightsCannotBeExportedAsCodebook) {
  torch::manual_seed(34);
  RepVGG model(tiny_config(NormKind::Bn));
  model->eval();
  DeployNet net = model->merge();
  std::vector<LayerEncoding> enc(net->num_layers(), LayerEncoding{2, Granularity::Layer});
  EXPECT_THROW(build_model(*net, ExportSpec{"x", 3, 8, 8, {{0, 0, 0}, {1, 1, 1}}, {"a", "b", "c", "d", "e"}}, enc),
               TrainError);
}

}  // namespace
}  // namespace repvk::train
